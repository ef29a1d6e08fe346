#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (fuzz/corpus/<target>/ok-* and bad-*):
small synthetic files, valid (ok-*, which must parse) and broken (bad-*, which must be
errors), made from scratch (no real model files). Run from the repository root."""

import gzip
import io
import json
import os
import struct
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- jsonl
recs = [
    {"id": "a", "text": "First document. It has two sentences.", "date": "2024-01-02"},
    {"id": 7, "text": "Second, with a numeric id.", "url": "https://example.org/x", "title": "T"},
    {"text": "No id: named by file and line."},
    {"id": None, "text": "A null id."},
]
jl = "\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n"
put("jsonl", "ok-basic.jsonl", jl)
put("jsonl", "ok-bom-crlf.jsonl", "\ufeff" + jl.replace("\n", "\r\n") + "\n\n")
put("jsonl", "ok-gzip.jsonl.gz", gzip.compress(jl.encode(), mtime=0))
put("jsonl", "ok-unicode.jsonl", json.dumps({"id": "ü", "text": "中文。ภาษาไทย \u0000 ok"}) + "\n")
put("jsonl", "bad-malformed.jsonl", '{"id": "x", "text": "ok"}\n{"id": "y", "text": \n[1,2]\n')
put("jsonl", "bad-duplicate.jsonl", '{"id": "x", "text": "one"}\n{"id": "x", "text": "two"}\n')
put("jsonl", "bad-types.jsonl", '{"id": [1], "text": "t"}\n{"id": "z", "text": 5}\n{"id": "q"}\n')
put("jsonl", "ok-lossy-utf8.jsonl", b'{"id": "u", "text": "caf\xe9 \xff"}\n')

# ---- html
page = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>A &amp; B</title>
<style>p { color: red }</style><script>var x = "<p>no</p>";</script></head>
<body><nav><a href="/">Home</a> | <a href="/n">News</a></nav>
<h1>Headline &mdash; here</h1><p>First paragraph with <b>bold</b> &#8220;quotes&#x201D; &nbsp; and
a <br>break.</p><ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>
<!-- a comment --><p>Last &unknown; &#xFFFFFFFF; &#0; &lt;tag&gt;</p></body></html>"""
put("html", "ok-page.html", page)
put("html", "ok-latin1.html", '<html><head><meta http-equiv="Content-Type" content="text/html; '
    'charset=iso-8859-1"></head><body><p>Caf\xe9 cr\xe8me \xbd</p></body></html>'.encode("latin-1"))
put("html", "ok-utf16.html", "\ufeff<p>UTF-16 page, ünïcode</p>".encode("utf-16-le"))
put("html", "ok-shiftjis.txt", "日本語のテキストです。文字コードは Shift_JIS。".encode("shift_jis"))
put("html", "bad-unclosed.html", "<html><body><p>Unclosed <b>tags <div><script>never closed")
put("html", "bad-binary.bin", bytes(range(256)) * 2)
put("html", "bad-utf8.html", b"<p>bad \xff\xfe utf-8 \xc3</p>")

# ---- segment
put("segment", "ok-english.txt", "Dr. Smith met J. R. R. Tolkien in the U.S. on Jan. 5. "
    "He said: \"Hello!\" Then he left... Did he? Yes.\n\nNew paragraph here.\r\nSame one.\n")
put("segment", "ok-cjk.txt", "这是第一句。这是第二句！这是第三句？日本語の文です。\n한국어 문장입니다. 두 번째.")
put("segment", "ok-thai.txt", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ แต่ใช้ช่องว่างเพื่อแบ่งประโยค "
    "นี่คือประโยคที่สองที่ยาวพอสมควร และนี่คือประโยคที่สาม")
put("segment", "ok-mixed.txt", "Zahlen wie 3.14 und z. B. usw. enden nicht. Ünïcödé ﬁ ligatures, "
    "Ｆｕｌｌｗｉｄｔｈ, emoji 😀👍🏽, RTL مرحبا بالعالم. Кириллица: им. Пушкина, ул. Ленина.\n")
put("segment", "bad-controls.txt", b"\x00\x01\t\x0b\x0c\r\r\n \xe2\x80\xa8\xe2\x80\xa9 . . ! ?\xff")

# ---- fasttext (format of crates/retrace/src/prepare/langid/fasttext.rs's tests)
def ftz(loss=3, input_rows=4, extra=b"", pruned=None):
    b = struct.pack("<ii", 793712314, 12)
    b += struct.pack("<12i", 2, 5, 5, 1, 5, 1, loss, 3, 2, 2, 2, 100) + struct.pack("<d", 1e-4)
    b += struct.pack("<iii", 4, 2, 2) + struct.pack("<qq", 10, -1 if pruned is None else len(pruned))
    for w, n, k in [(b"</s>", 9, 0), (b"hello", 5, 0), (b"__label__aa", 6, 1), (b"__label__bb", 4, 1)]:
        b += w + b"\0" + struct.pack("<qB", n, k)
    for frm, to in pruned or []:
        b += struct.pack("<ii", frm, to)
    b += b"\0" + struct.pack("<qq", input_rows, 2)
    b += struct.pack("<8f", 0, 0, 4, 0, 0, 0.5, -0.5, 0)[: input_rows * 8]
    b += b"\0" + struct.pack("<qq", 2, 2) + struct.pack("<4f", 1, 0, -1, 0)
    return b + extra

put("fasttext", "ok-softmax.ftz", ftz(3))
put("fasttext", "ok-hierarchical.ftz", ftz(1))
put("fasttext", "bad-trailing.ftz", ftz(3, extra=b"\0"))
put("fasttext", "bad-rows.ftz", ftz(3, input_rows=2))
put("fasttext", "bad-truncated.ftz", ftz(3)[:70])
put("fasttext", "ok-pruned.ftz", ftz(1, pruned=[(1, 0), (0, 1)]))
put("fasttext", "bad-pruned-row.ftz", ftz(3, pruned=[(1, 5)]))  # row past the input matrix

# ---- npz
def npy(descr, shape, body):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + body

def npz(entries, deflate=False):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        for name, data in entries:
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            z.writestr(zi, data)
    return out.getvalue()

arrays = [
    ("w.npy", npy("<f4", "(2, 3)", struct.pack("<6f", 1, 2, 3, 4, 5, 6))),
    ("eps.npy", npy("<f8", "()", struct.pack("<d", 1e-12))),
    ("ids.npy", npy("|u1", "(4,)", bytes([1, 2, 3, 4]))),
    ("q.npy", npy("|i1", "(2, 2)", bytes([255, 1, 128, 127]))),
]
put("npz", "ok-stored.npz", npz(arrays))
put("npz", "ok-deflated.npz", npz(arrays, deflate=True))
put("npz", "bad-shape.npz", npz([("w.npy", npy("<f4", "(3, 3)", struct.pack("<2f", 1, 2)))]))
put("npz", "bad-dtype.npz", npz([("w.npy", npy(">c16", "(1,)", b"\0" * 16))]))
put("npz", "bad-fortran.npz", npz([("w.npy", npy("<f4", "(1,)", b"\0" * 4).replace(b"False", b"True "))]))
put("npz", "bad-truncated.npz", npz(arrays)[:100])

# ---- e5 (format of crates/retrace-encode/src/e5/format.rs): hidden 32, 1 layer, 1 head
H, FF, VOCAB, POS, TYPES = 32, 32, 6, 8, 1

def e5(version=1, bos_id=1, hidden=H):
    pieces = ["<unk>", "<s>", "</s>", "<pad>", "\u2581a", "\u2581b"]
    blob = b"".join(p.encode() for p in pieces)
    offs, at = [0], 0
    for p in pieces:
        at += len(p.encode())
        offs.append(at)
    b = b"E5S1" + struct.pack("<I", version)
    b += struct.pack("<7i", hidden, 1, 1, FF, VOCAB, POS, TYPES) + struct.pack("<f", 1e-12)
    b += struct.pack("<i", 32)
    b += struct.pack("<iIIIIQ", len(pieces), bos_id, 2, 3, 0, len(blob))
    b += struct.pack("<%dI" % len(offs), *offs)
    b += struct.pack("<%df" % len(pieces), 0, 0, 0, 0, -1, -2) + blob
    norm = struct.pack("<IB", 0x41, 1) + struct.pack("<I", 0x61) + struct.pack("<IB", 0xAD, 0)
    b += struct.pack("<iI", 2, len(norm)) + norm

    def q4(n):  # n weights: blocks of an fp16 scale 0.01 and nibbles
        return (struct.pack("<e", 0.01) + bytes(range(16))) * (n // 32)

    def f32(n, v=0.1):
        return struct.pack("<%df" % n, *([v] * n))

    tensors = []
    for t in ["q", "k", "v", "ao"]:
        tensors += [("l0.%s.w" % t, 1, H * H, q4(H * H)), ("l0.%s.b" % t, 0, H, f32(H))]
    tensors += [("l0.fi.w", 1, FF * H, q4(FF * H)), ("l0.fi.b", 0, FF, f32(FF))]
    tensors += [("l0.fo.w", 1, H * FF, q4(H * FF)), ("l0.fo.b", 0, H, f32(H))]
    for ln in ["l0.aln", "l0.oln", "emb.ln"]:
        tensors += [(ln + ".w", 0, H, f32(H, 1.0)), (ln + ".b", 0, H, f32(H, 0.0))]
    tensors += [("emb.word", 1, VOCAB * H, q4(VOCAB * H)), ("emb.type", 0, TYPES * H, f32(TYPES * H)),
                ("emb.pos", 0, POS * H, f32(POS * H, 0.01))]
    dir_len = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, _, _, _ in tensors)
    at = len(b) + dir_len
    d, data = struct.pack("<i", len(tensors)), b""
    for name, dt, n, raw in tensors:
        d += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dt, n, at + len(data), len(raw))
        data += raw
    return b + d + data

put("e5", "ok-tiny.bin", e5())
put("e5", "bad-magic.bin", b"GGUF" + e5()[4:64])
put("e5", "bad-bos.bin", e5(bos_id=99))
put("e5", "bad-hidden.bin", e5(hidden=33))
put("e5", "bad-truncated.bin", e5()[:-100])

# ---- sentencepiece (ModelProto; see crates/retrace-encode/src/sentencepiece.rs)
def varint(v):
    out = b""
    while True:
        if v < 0x80:
            return out + bytes([v])
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7

def field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload

def piece(text, score, kind):
    p = field(1, text.encode()) + b"\x15" + struct.pack("<f", score) + b"\x18" + bytes([kind])
    return field(1, p)

sp = piece("<unk>", 0, 2) + piece("<s>", 0, 3) + piece("</s>", 0, 3)
sp += piece("\u2581", -2, 1) + piece("\u2581a", -1, 1) + piece("b", -3, 1)
byte_pieces = b"".join(piece("<0x%02X>" % i, 0, 6) for i in range(256))
trainer = field(2, b"\x18\x01" + b"\x98\x02\x01")  # model_type 1 (unigram), byte_fallback
normalizer = field(3, b"\x18\x01\x20\x01\x28\x01")
put("sentencepiece", "ok-tiny.model", sp + byte_pieces + trainer + normalizer)
put("sentencepiece", "bad-bytes.model", sp + trainer)  # byte fallback without byte pieces
put("sentencepiece", "ok-plain.model", sp)
put("sentencepiece", "bad-bpe.model", sp + field(2, b"\x18\x02"))
put("sentencepiece", "bad-no-unk.model", piece("a", 0, 1))
put("sentencepiece", "bad-charsmap.model", sp + field(3, field(2, b"\x09\x00\x00\x00\x01")))
put("sentencepiece", "bad-truncated.model", (sp + trainer)[:-3])

# ---- safetensors
def st(tensors, meta=True, pad=b""):
    header, data = {}, b""
    if meta:
        header["__metadata__"] = {"format": "pt"}
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode() + pad
    return struct.pack("<Q", len(h)) + h + data

good = [("a.weight", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
        ("b.bias", "F16", [3], struct.pack("<3e", 0.5, -1, 2)),
        ("c", "BF16", [1, 2], b"\x80\x3f\x00\x40"),
        ("empty", "F32", [0, 4], b"")]
put("safetensors", "ok-tiny.safetensors", st(good, pad=b"   "))
put("safetensors", "bad-dtype.safetensors", st([("i", "I64", [1], b"\0" * 8)], meta=False))
put("safetensors", "bad-size.safetensors", st([("x", "F32", [3], b"\0" * 8)]))
put("safetensors", "bad-offsets.safetensors", struct.pack("<Q", 60) + b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,400]}}    ')
put("safetensors", "bad-header.safetensors", struct.pack("<Q", 1 << 40) + b"{}")
