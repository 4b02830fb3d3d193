#!/usr/bin/env node
// Trains a byte-level BPE with Hugging Face tokenizers (npm package `tokenizers`, 0.23.x) over one text file and
// prints one JSON line with what it measured.
//
// Usage: node hf-train.js FILE [--vocab 30000] [--out tokenizer.json] [--modules DIR]
//   FILE       training text (UTF-8; the trainer reads it line by line)
//   --vocab    vocabulary size; see LIMITATION below: only 30000 can be honoured
//   --out      where to write the trained tokenizer.json (default: none)
//   --modules  folder holding node_modules/tokenizers (default $HF_MODULES or /work/bench-data/hf)
//
// Setup: mkdir -p /work/bench-data/hf && cd /work/bench-data/hf && npm init -y && npm install tokenizers@0.23
// Peak memory: run under `/usr/bin/time -v` (Maximum resident set size); the JSON also reports Node's own maxRSS.
//
// What is configured, mirroring sparklm's byte-level trainer:
//   model           BPE, no unk token, no continuing-subword prefix / end-of-word suffix
//   pre-tokenizer   ByteLevel(add_prefix_space=false, use_regex=true)   (GPT-2 regex split + byte-to-char mapping)
//   special tokens  [PAD] [UNK] [BOS] [EOS] [MASK] [CLS] [SEP] <extra_id_0> .. <extra_id_99> (107 tokens)
//
// LIMITATION of the Node binding 0.23 (read from its index.d.ts and the binding's source, bindings/node/src/
// tokenizer.rs): there is no trainer constructor. `Tokenizer.train(files)` always uses the model's default trainer,
// `BpeTrainer::default()`: vocab_size 30000, min_frequency 0, special_tokens [], initial_alphabet {} (only the
// byte-level characters seen in the data), limit_alphabet none, show_progress true. So, against the requested
// configuration (vocab N, min_frequency 2, 107 special tokens inside the vocabulary, initial alphabet =
// ByteLevel.alphabet() i.e. all 256 byte symbols):
//   - the vocabulary size is fixed at 30000 model entries (alphabet seen + merges): any other --vocab is refused;
//   - the special tokens are added after training (addSpecialTokens), so they take ids 30000..30106 instead of being
//     part of the 30000; merges = 30000 - |alphabet seen| (ours: 30000 - 107 - 256 = 29637), i.e. about 1% more;
//   - min_frequency is 0 instead of 2 (matters only if the merge counts fall below 2 before the vocabulary is full);
//   - byte symbols never seen in the data are not in the vocabulary (ByteLevel.alphabet() is printed for reference).
// The Python binding and the Rust crate expose BpeTrainer(vocab_size=..., min_frequency=..., special_tokens=...,
// initial_alphabet=...) but neither is reachable here (no PyPI, no crates.io).
'use strict'

const fs = require('fs')
const path = require('path')

function parseArgs(argv) {
  const a = { file: null, vocab: 30000, out: null, modules: process.env.HF_MODULES || '/work/bench-data/hf' }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--vocab') a.vocab = parseInt(argv[++i], 10)
    else if (k === '--out') a.out = argv[++i]
    else if (k === '--modules') a.modules = argv[++i]
    else if (k === '-h' || k === '--help') a.help = true
    else if (!a.file) a.file = k
    else throw new Error('unexpected argument ' + k)
  }
  return a
}

const SPECIALS = ['[PAD]', '[UNK]', '[BOS]', '[EOS]', '[MASK]', '[CLS]', '[SEP]']
for (let i = 0; i < 100; i++) SPECIALS.push(`<extra_id_${i}>`)

function main() {
  const t0 = process.hrtime.bigint()
  const args = parseArgs(process.argv.slice(2))
  if (args.help || !args.file) {
    console.error('usage: node hf-train.js FILE [--vocab 30000] [--out tokenizer.json] [--modules DIR]')
    process.exit(args.help ? 0 : 2)
  }
  if (args.vocab !== 30000) {
    console.error(`hf-train.js: tokenizers (npm) 0.23 trains with BpeTrainer::default(), whose vocab_size is 30000 ` +
      `and cannot be set from Node; refusing --vocab ${args.vocab}`)
    process.exit(2)
  }
  const modPath = require.resolve('tokenizers', { paths: [args.modules] })
  const tk = require(modPath)
  const version = JSON.parse(fs.readFileSync(path.join(path.dirname(modPath), 'package.json'), 'utf8')).version
  const bytes = fs.statSync(args.file).size

  const tokenizer = new tk.Tokenizer(tk.BPE.empty())
  tokenizer.setPreTokenizer(tk.byteLevelPreTokenizer(false, true))

  const t1 = process.hrtime.bigint()
  tokenizer.train([args.file])
  const t2 = process.hrtime.bigint()

  const modelVocab = tokenizer.getVocabSize(false)
  const added = tokenizer.addSpecialTokens(SPECIALS)
  const vocab = tokenizer.getVocab(false)
  const alphabet = tk.byteLevelAlphabet()
  const alphabetSeen = alphabet.filter((c) => Object.prototype.hasOwnProperty.call(vocab, c)).length
  if (args.out) tokenizer.save(args.out, false)
  const t3 = process.hrtime.bigint()

  const sec = (a, b) => Number(b - a) / 1e9
  const out = {
    tool: 'hf-tokenizers-node',
    version,
    file: args.file,
    bytes,
    vocab_requested: args.vocab,
    model_vocab: modelVocab,
    vocab_with_specials: tokenizer.getVocabSize(true),
    merges: modelVocab - alphabetSeen,
    byte_alphabet_seen: alphabetSeen,
    byte_alphabet_size: alphabet.length,
    special_tokens: SPECIALS.length,
    min_frequency: 0,
    train_seconds: +sec(t1, t2).toFixed(3),
    total_seconds: +sec(t0, t3).toFixed(3),
    train_MB_per_s: +(bytes / 1e6 / sec(t1, t2)).toFixed(2),
    node_max_rss_MB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    out: args.out,
    threads: process.env.RAYON_NUM_THREADS || String(require('os').cpus().length),
  }
  void added
  console.log(JSON.stringify(out))
}

main()
