#!/usr/bin/env python3
"""GPU checks and timings for bench/gpu/device.sh (runs on the GPU machine).

usage: check.py RETRACE MODEL_DIR SENTENCES... ; prints a table and writes results.json
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

retrace, golden, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
sentence_files = sys.argv[4:]
results = {}


def embed(model, device, lines, extra=()):
    p = subprocess.run([retrace, "embed", "--model", model, "--device", device, *extra],
                       input="\n".join(lines) + "\n", capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"retrace embed --device {device} failed:\n{p.stderr}")
    return np.array([json.loads(l)["vector"] for l in p.stdout.splitlines()], dtype=np.float32)


def timed(model, device, path, batch):
    t = time.time()
    p = subprocess.run([retrace, "embed", "--model", model, "--device", device, "--stats",
                        "--discard", "--batch", str(batch), path],
                       capture_output=True, text=True)
    wall = time.time() - t
    if p.returncode != 0:
        raise SystemExit(f"timing {model} on {device} failed:\n{p.stderr}")
    return p.stderr.strip().splitlines()[-1], wall


# 1. e5-small on the GPU against the reference vectors (all golden token ids are kept in
#    the pruned model file).
gold = [json.loads(l) for l in open(golden)]
texts = [g["text"] for g in gold]
ref = np.array([g["embedding"] for g in gold], dtype=np.float32)
gpu = embed("e5-small", "cuda", texts)
cpu = embed("e5-small", "cpu", texts)
cos_ref = (gpu * ref).sum(1) / np.linalg.norm(ref, axis=1)
cos_cpu = (gpu * cpu).sum(1)
results["e5_golden"] = {"sentences": len(texts), "min_cos_gpu_ref": float(cos_ref.min()),
                        "mean_cos_gpu_ref": float(cos_ref.mean()),
                        "min_cos_gpu_cpu": float(cos_cpu.min())}
print(f"e5-small golden: {len(texts)} sentences, GPU vs reference min cos {cos_ref.min():.6f}, "
      f"GPU vs CPU min cos {cos_cpu.min():.6f}", flush=True)

# 2. A Hugging Face-format model (BERT, e5-small's dimensions, random weights, a WordPiece
#    tokenizer trained here): GPU vs CPU vs PyTorch.
hf = "/tmp/hf-bert"
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertModel

os.makedirs(hf, exist_ok=True)
tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
tok.normalizer = normalizers.BertNormalizer(lowercase=False)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
tok.train(sentence_files, trainers.WordPieceTrainer(
    vocab_size=30000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
tok.post_processor = processors.TemplateProcessing(
    single="[CLS] $A [SEP]",
    special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
tok.save(f"{hf}/tokenizer.json")
torch.manual_seed(0)
cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=384, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=1536, max_position_embeddings=512)
model = BertModel(cfg, add_pooling_layer=False).eval()
model.save_pretrained(hf, safe_serialization=True)
sample = [l.rstrip("\n") for l in open(sentence_files[-1], encoding="utf-8")][:500]
hg = embed(hf, "cuda", sample)
hc = embed(hf, "cpu", sample)
model = model.cuda()
with torch.no_grad():
    enc = [tok.encode(s) for s in sample]
    vecs = []
    for e in enc:
        ids = torch.tensor([e.ids[:512]], device="cuda")
        o = model(input_ids=ids).last_hidden_state.mean(1)
        vecs.append(torch.nn.functional.normalize(o, dim=1).cpu().numpy()[0])
    ht = np.array(vecs)
results["hf_check"] = {"sentences": len(sample), "min_cos_gpu_torch": float((hg * ht).sum(1).min()),
                       "min_cos_gpu_cpu": float((hg * hc).sum(1).min())}
print(f"HF BERT ({len(sample)} sentences): GPU vs PyTorch min cos {(hg * ht).sum(1).min():.6f}, "
      f"GPU vs CPU min cos {(hg * hc).sum(1).min():.6f}", flush=True)

# 3. Throughput: retrace on the GPU, and PyTorch (fp32, TF32 allowed, batches of 256
#    sentences sorted by length) on the same HF model.
rows = []
for name, path in [("tatoeba", sentence_files[0]), ("dev", sentence_files[-1])]:
    n = sum(1 for _ in open(path, encoding="utf-8"))
    for model_name, model_arg in [("e5-small", "e5-small"), ("hf-bert-384", hf)]:
        for device, batch in [("cuda", 16384)]:
            stats, wall = timed(model_arg, device, path, batch)
            rows.append((name, n, model_name, device, stats, round(wall, 2)))
            print(f"{name:8} {n:6} {model_name:12} retrace {device:5} {stats}  (wall {wall:.1f}s)",
                  flush=True)
    lines = [l.rstrip("\n") for l in open(path, encoding="utf-8")]
    torch.backends.cuda.matmul.allow_tf32 = True
    with torch.no_grad():
        t = time.time()
        enc = sorted((tok.encode(s).ids[:512] for s in lines), key=len)
        for i in range(0, len(enc), 256):
            chunk = enc[i:i + 256]
            L = len(chunk[-1])
            ids = torch.zeros((len(chunk), L), dtype=torch.long)
            mask = torch.zeros((len(chunk), L), dtype=torch.long)
            for k, e in enumerate(chunk):
                ids[k, :len(e)] = torch.tensor(e)
                mask[k, :len(e)] = 1
            ids, mask = ids.cuda(), mask.cuda()
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            v = (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
            v = torch.nn.functional.normalize(v, dim=1).cpu()
        torch.cuda.synchronize()
        dt = time.time() - t
    rows.append((name, n, "hf-bert-384", "torch", f"{n / dt:.0f} sentences/s", round(dt, 2)))
    print(f"{name:8} {n:6} hf-bert-384  torch cuda {n / dt:.0f} sentences/s (tokenize+forward, "
          f"{dt:.1f}s)", flush=True)
results["throughput"] = rows
json.dump(results, open(os.path.join(out_dir, "results.json"), "w"), indent=1)
