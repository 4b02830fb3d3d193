#!/usr/bin/env node
// Batch-encodes a text file with a Hugging Face tokenizer.json (npm package `tokenizers`, 0.23.x) and prints one JSON
// line: bytes, lines, tokens, seconds, MB/s, tokens/s.
//
// Usage: node hf-encode.js TOKENIZER_JSON FILE [--batch 1000] [--limit-mb N] [--modules DIR]
//   The file is streamed line by line; each batch of --batch non-empty lines goes through encodeBatch (Rust, parallel
//   over the batch with rayon: RAYON_NUM_THREADS threads, default all cores) with addSpecialTokens=false.
//   The next batch is read while the previous one is being encoded (one batch in flight).
//   MB/s counts the UTF-8 bytes of the encoded lines (without the newlines); the clock covers reading + encoding.
//   --limit-mb stops after about N MB of text.
'use strict'

const fs = require('fs')
const path = require('path')
const readline = require('readline')

function parseArgs(argv) {
  const a = { tok: null, file: null, batch: 1000, limitMb: 0, modules: process.env.HF_MODULES || '/work/bench-data/hf' }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--batch') a.batch = parseInt(argv[++i], 10)
    else if (k === '--limit-mb') a.limitMb = parseFloat(argv[++i])
    else if (k === '--modules') a.modules = argv[++i]
    else if (k === '-h' || k === '--help') a.help = true
    else if (!a.tok) a.tok = k
    else if (!a.file) a.file = k
    else throw new Error('unexpected argument ' + k)
  }
  return a
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  if (args.help || !args.tok || !args.file) {
    console.error('usage: node hf-encode.js TOKENIZER_JSON FILE [--batch 1000] [--limit-mb N] [--modules DIR]')
    process.exit(args.help ? 0 : 2)
  }
  const modPath = require.resolve('tokenizers', { paths: [args.modules] })
  const tk = require(modPath)
  const version = JSON.parse(fs.readFileSync(path.join(path.dirname(modPath), 'package.json'), 'utf8')).version
  const tokenizer = tk.Tokenizer.fromFile(args.tok)
  const limit = args.limitMb > 0 ? args.limitMb * 1e6 : Infinity

  let bytes = 0
  let lines = 0
  let tokens = 0
  let batches = 0
  let pending = null
  let batch = []
  const opts = { addSpecialTokens: false }

  async function settle() {
    if (!pending) return
    const encs = await pending
    for (const e of encs) tokens += e.getLength()
    batches++
    pending = null
  }

  const t0 = process.hrtime.bigint()
  const rl = readline.createInterface({ input: fs.createReadStream(args.file, { encoding: 'utf8' }), crlfDelay: Infinity })
  for await (const line of rl) {
    if (line.length === 0) continue
    batch.push(line)
    bytes += Buffer.byteLength(line, 'utf8')
    lines++
    if (batch.length >= args.batch) {
      await settle()
      pending = tokenizer.encodeBatch(batch, opts)
      batch = []
    }
    if (bytes >= limit) break
  }
  rl.close()
  await settle()
  if (batch.length) {
    pending = tokenizer.encodeBatch(batch, opts)
    await settle()
  }
  const sec = Number(process.hrtime.bigint() - t0) / 1e9

  console.log(JSON.stringify({
    tool: 'hf-tokenizers-node-encode',
    version,
    tokenizer: args.tok,
    file: args.file,
    batch: args.batch,
    batches,
    lines,
    bytes,
    tokens,
    seconds: +sec.toFixed(3),
    MB_per_s: +(bytes / 1e6 / sec).toFixed(3),
    tokens_per_s: Math.round(tokens / sec),
    bytes_per_token: +(bytes / tokens).toFixed(3),
    node_max_rss_MB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    threads: process.env.RAYON_NUM_THREADS || String(require('os').cpus().length),
  }))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
