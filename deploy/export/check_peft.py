#!/usr/bin/python3
"""By-hand check that a peft-layout export is our LoRA classifier in PyTorch (issue 13; docs/FORMATS.md).

DIR (written by org.sparklm.export.PeftDump, or by ClassifierExportTest with -Dsparklm.peft.dump=DIR) holds
  base/      the classifier's base exported with --layout hf (GPT-2 names, config.json)
  adapter/   the classifier exported with --layout peft (adapter_config.json, adapter_model.safetensors,
             sparklm_classifier.json)
  merged/    the classifier with its LoRA merged by our finetune-merge code (ClassifierModel.mergeLora), native layout
  probs.json our class probabilities of a few texts, with their framed token ids

What is checked, as PEFT would do it (neither transformers nor peft is packaged for Debian 12, so both are written
out here from their source: LoRA's Linear with fan_in_fan_out on GPT-2's Conv1D, get_pattern_key, the
modules_to_save key mapping):
  1. the base loads into a GPT-2 with transformers' module names (strict), the adapter's target_modules select
     modules by PEFT's suffix rule, every lora_A/lora_B tensor of the file lands in an injected adapter (no key left
     over, none missing), score.weight/score.bias land in a score Linear given a bias;
  2. the unmerged PEFT forward (y = x W + b + scaling * lora_B(lora_A(x))), pooled as sparklm_classifier.json says,
     gives our probabilities;
  3. PEFT's merge (W += scaling * (lora_B.weight @ lora_A.weight)^T for fan_in_fan_out) gives our merged weights
     (blockN.wqkv, wo, w1, w2 of merged/), and the merged model our probabilities.

Needs Debian's python3-torch:  /usr/bin/python3 deploy/export/check_peft.py DIR
"""
import json
import os
import re
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_gpt2 import Conv1D, GPT2Model, load_safetensors  # noqa: E402

PREFIX = "base_model.model."


def get_pattern_key(pattern_keys, key_to_match):
    """peft.utils.other.get_pattern_key"""
    for key in pattern_keys:
        if re.match(rf"(.*\.)?({key})$", key_to_match):
            return key
    return key_to_match


def is_target(name, target_modules):
    """peft's check_target_module_exists for a list of names"""
    return any(name == t or name.endswith("." + t) for t in target_modules)


class LoraConv1D(nn.Module):
    """peft.tuners.lora.layer.Linear around a transformers Conv1D (fan_in_fan_out=True), one adapter 'default'."""

    def __init__(self, base_layer, r, alpha, dropout):
        super().__init__()
        self.base_layer = base_layer
        n_in, n_out = base_layer.weight.shape  # Conv1D: [in, out]
        self.lora_A = nn.ModuleDict({"default": nn.Linear(n_in, r, bias=False)})
        self.lora_B = nn.ModuleDict({"default": nn.Linear(r, n_out, bias=False)})
        self.lora_dropout = nn.ModuleDict({"default": nn.Dropout(dropout)})
        self.scaling = {"default": alpha / r}
        self.merged = False

    def forward(self, x):
        y = self.base_layer(x)
        if not self.merged:
            a, b = self.lora_A["default"], self.lora_B["default"]
            y = y + b(a(self.lora_dropout["default"](x))) * self.scaling["default"]
        return y

    def get_delta_weight(self):
        # transpose(B @ A, fan_in_fan_out) * scaling
        return (self.lora_B["default"].weight @ self.lora_A["default"].weight).T * self.scaling["default"]

    def merge(self):
        self.base_layer.weight.data += self.get_delta_weight()
        self.merged = True


class Classifier(nn.Module):
    """GPT2ForSequenceClassification's modules (transformer, score), score given a bias as docs/FORMATS.md says."""

    def __init__(self, config, num_labels):
        super().__init__()
        self.transformer = GPT2Model(config)
        self.score = nn.Linear(config["n_embd"], num_labels, bias=True)

    def forward(self, ids, pooling):
        h = self.transformer(ids)[0]  # after ln_f, [T, d]
        pooled = {"first": lambda: h[0], "last": lambda: h[-1], "mean": lambda: h.mean(dim=0)}[pooling]()
        return torch.softmax(self.score(pooled), dim=-1)


def inject(model, cfg):
    """peft's LoraModel._create_and_replace over the target modules, with rank_pattern / alpha_pattern"""
    injected = []
    for name, module in list(model.named_modules()):
        if not isinstance(module, Conv1D) or not is_target(name, cfg["target_modules"]):
            continue
        rk = get_pattern_key(cfg.get("rank_pattern", {}).keys(), name)
        ak = get_pattern_key(cfg.get("alpha_pattern", {}).keys(), name)
        r = cfg.get("rank_pattern", {}).get(rk, cfg["r"])
        alpha = cfg.get("alpha_pattern", {}).get(ak, cfg["lora_alpha"])
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, LoraConv1D(module, r, alpha, cfg["lora_dropout"]))
        injected.append(name)
    return injected


def load_adapter(model, tensors):
    """set_peft_model_state_dict: drop the PeftModel prefix, insert the adapter name; modules_to_save's score"""
    state = {}
    for key, value in tensors.items():
        assert key.startswith(PREFIX), key
        k = key[len(PREFIX):]
        if ".lora_A." in k or ".lora_B." in k:
            k = k.replace(".lora_A.weight", ".lora_A.default.weight").replace(".lora_B.weight", ".lora_B.default.weight")
        state[k] = value
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys, f"adapter keys with no place: {result.unexpected_keys}"
    missing = [k for k in result.missing_keys if "lora_" in k or k.startswith("score.")]
    assert not missing, f"adapter parameters not in the file: {missing}"
    return len(state)


def main(d):
    base_cfg = json.load(open(f"{d}/base/config.json"))
    base, _ = load_safetensors(f"{d}/base/model.safetensors")
    cfg = json.load(open(f"{d}/adapter/adapter_config.json"))
    head = json.load(open(f"{d}/adapter/sparklm_classifier.json"))
    adapter, meta = load_safetensors(f"{d}/adapter/adapter_model.safetensors")
    ours = json.load(open(f"{d}/probs.json"))
    assert cfg["peft_type"] == "LORA" and cfg["task_type"] == "SEQ_CLS" and cfg["fan_in_fan_out"] is True
    assert head["pooling"] == ours["pooling"]

    model = Classifier(base_cfg, head["num_labels"])
    model.transformer.load_state_dict({k[len("transformer."):]: v for k, v in base.items()
                                       if k.startswith("transformer.")}, strict=True)
    injected = inject(model, cfg)
    loaded = load_adapter(model, adapter)
    model.eval()

    def worst_prob_diff():
        worst = 0.0
        with torch.no_grad():
            for ids, p in zip(ours["sequences"], ours["probabilities"]):
                got = model(torch.tensor([ids]), head["pooling"]).double()
                worst = max(worst, (got - torch.tensor(p, dtype=torch.float64)).abs().max().item())
        return worst

    unmerged = worst_prob_diff()

    merged_ref, _ = load_safetensors(f"{d}/merged/model.safetensors")
    names = {"attn.c_attn": "wqkv", "attn.c_proj": "wo", "mlp.c_fc": "w1", "mlp.c_proj": "w2"}
    worst_w, compared = 0.0, 0
    for name, module in model.named_modules():
        if isinstance(module, LoraConv1D):
            module.merge()
    for name, module in model.named_modules():
        m = re.fullmatch(r"transformer\.h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)", name)
        if not m:
            continue
        w = (module.base_layer if isinstance(module, LoraConv1D) else module).weight.detach()
        ref = merged_ref[f"block{m.group(1)}.{names[m.group(2)]}"]
        worst_w = max(worst_w, (w - ref).abs().max().item())
        compared += w.numel()
    merged = worst_prob_diff()

    print(json.dumps({"torch": torch.__version__, "adapted_modules": len(injected), "adapter_tensors": loaded,
                      "r": cfg["r"], "lora_alpha": cfg["lora_alpha"], "rank_pattern": cfg.get("rank_pattern"),
                      "pooling": head["pooling"], "texts": len(ours["sequences"]),
                      "max_abs_diff_probabilities_unmerged": unmerged,
                      "max_abs_diff_merged_weights": worst_w, "compared_weights": compared,
                      "max_abs_diff_probabilities_merged": merged}))
    return 0 if max(unmerged, merged) < 1e-5 and worst_w < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
