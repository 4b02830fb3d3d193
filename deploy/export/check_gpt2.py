#!/usr/bin/python3
"""By-hand check that an hf-layout export computes our model in PyTorch (issue 13; docs/FORMATS.md).

A minimal GPT-2 with the module names of HuggingFace transformers' GPT2LMHeadModel (Conv1D weights [in, out],
fused c_attn with q|k|v and heads contiguous, gelu_new, LayerNorm epsilon from config.json, lm_head [vocab, d])
loads DIR/export/model.safetensors with load_state_dict(strict=True), so every name and shape must match, and
its log-softmax is compared with our log-probabilities in DIR/logits.json (written by
org.sparklm.export.LogitsDump or by Gpt2ReferenceTest with -Dsparklm.gpt2.dump=DIR).

safetensors is parsed here with struct/json/torch.frombuffer (neither `safetensors` nor `transformers` is
packaged for Debian 12). Needs Debian's python3-torch:  /usr/bin/python3 deploy/export/check_gpt2.py DIR
"""
import json
import math
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert (8 + n) % 8 == 0, "header not padded to 8 bytes"
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    assert meta.get("format") == "pt", "transformers needs metadata format=pt"
    body = bytearray(data[8 + n:])
    tensors, end = {}, 0
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = t["data_offsets"]
        assert b == end, f"{name}: offsets not contiguous"
        end = e
        dtype = DTYPES[t["dtype"]]
        size = torch.empty(0, dtype=dtype).element_size()
        x = torch.frombuffer(body, dtype=dtype, count=(e - b) // size, offset=b) if e > b else torch.empty(0, dtype=dtype)
        tensors[name] = x.reshape(t["shape"]).clone()
    assert end == len(body), "data section length"
    return tensors, meta


class Conv1D(nn.Module):  # transformers.pytorch_utils.Conv1D: x W + b, W [in, out]
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.d, self.h = c["n_embd"], c["n_head"]
        self.c_attn = Conv1D(self.d, 3 * self.d)
        self.c_proj = Conv1D(self.d, self.d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        att = q @ k.transpose(-1, -2) / math.sqrt(d // self.h)
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        att = att.masked_fill(~causal, torch.finfo(att.dtype).min).softmax(dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(b, t, d))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        inner = c.get("n_inner") or 4 * c["n_embd"]
        self.c_fc = Conv1D(c["n_embd"], inner)
        self.c_proj = Conv1D(inner, c["n_embd"])

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(c["n_embd"], eps=eps)
        self.attn = Attention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"], eps=eps)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        assert c["model_type"] == "gpt2" and c["activation_function"] == "gelu_new"
        assert c.get("tie_word_embeddings") is False
        self.transformer = GPT2Model(c)
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)

    def forward(self, ids):
        return self.lm_head(self.transformer(ids))


def main(d):
    config = json.load(open(f"{d}/export/config.json"))
    tensors, meta = load_safetensors(f"{d}/export/model.safetensors")
    model = GPT2LMHeadModel(config)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    ours = json.load(open(f"{d}/logits.json"))
    results = {}
    for dtype in (torch.float32, torch.float64):
        m = model.to(dtype)
        worst, count = 0.0, 0
        with torch.no_grad():
            for ids, logp in zip(ours["sequences"], ours["log_probs"]):
                got = torch.log_softmax(m(torch.tensor([ids])), dim=-1)[0].double()
                diff = (got - torch.tensor(logp, dtype=torch.float64)).abs()
                worst, count = max(worst, diff.max().item()), count + diff.numel()
        results[str(dtype).replace("torch.", "")] = worst
    print(json.dumps({"torch": torch.__version__, "tensors": len(tensors), "layout": meta.get("sparklm.layout"),
                      "compared_values": count,
                      "max_abs_diff_log_probs": results}))
    return 0 if max(results.values()) < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
