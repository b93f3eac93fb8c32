//! Parquet's RLE / bit-packed hybrid encoding, as data pages use it for
//! definition levels and dictionary indices.

/// Appends `values` in Parquet's RLE / bit-packed hybrid encoding with
/// `bit_width` bits each: one run when every value is the same (levels of
/// a column without nulls), else one bit-packed run of 8-value groups (the
/// last padded with zeros; readers know the count from the page header).
pub(super) fn encode_hybrid(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    let Some(&first) = values.first() else {
        return;
    };
    if values.iter().all(|&v| v == first) {
        put_uleb128((values.len() as u64) << 1, out);
        out.extend_from_slice(&first.to_le_bytes()[..usize::from(bit_width).div_ceil(8)]);
        return;
    }
    let groups = values.len().div_ceil(8);
    put_uleb128(((groups as u64) << 1) | 1, out);
    let padding = std::iter::repeat_n(&0, groups * 8 - values.len());
    out.reserve(groups * usize::from(bit_width));
    // Whole 32-bit words out of a 64-bit accumulator: `bits` stays below
    // 32 between values, and a value has at most 32 bits.
    let (mut acc, mut bits) = (0u64, 0u32);
    for &value in values.iter().chain(padding) {
        acc |= u64::from(value) << bits;
        bits += u32::from(bit_width);
        if bits >= 32 {
            out.extend_from_slice(&(acc as u32).to_le_bytes());
            acc >>= 32;
            bits -= 32;
        }
    }
    // 8 values of `bit_width` bits per group: a whole number of bytes.
    out.extend_from_slice(&acc.to_le_bytes()[..(bits / 8) as usize]);
}

fn put_uleb128(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes the hybrid encoding (the reader side, for the tests).
    fn decode_hybrid(mut data: &[u8], bit_width: u8, count: usize) -> Vec<u32> {
        let mut out = Vec::new();
        while out.len() < count {
            let mut header = 0u64;
            let mut shift = 0;
            loop {
                let b = data[0];
                data = &data[1..];
                header |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            if header & 1 == 0 {
                let width = usize::from(bit_width).div_ceil(8);
                let mut v = [0u8; 4];
                v[..width].copy_from_slice(&data[..width]);
                data = &data[width..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (header >> 1) as usize,
                ));
            } else {
                let n = (header >> 1) as usize * 8;
                let bytes = n * usize::from(bit_width) / 8;
                let (mut acc, mut bits, mut it) = (0u64, 0u32, data[..bytes].iter());
                for _ in 0..n {
                    while bits < u32::from(bit_width) {
                        acc |= u64::from(*it.next().unwrap()) << bits;
                        bits += 8;
                    }
                    out.push((acc & ((1 << bit_width) - 1)) as u32);
                    acc >>= bit_width;
                    bits -= u32::from(bit_width);
                }
                data = &data[bytes..];
            }
        }
        out.truncate(count);
        out
    }

    #[test]
    fn hybrid_encoding_round_trips() {
        for (values, width) in [
            (vec![1u32; 1000], 1u8),
            (vec![0, 1, 1, 0, 1, 0, 0, 1, 1], 1),
            ((0..1000).map(|i| i % 37).collect(), 6),
            ((0..5).map(|i| i * 4000).collect(), 15),
            (vec![7], 3),
            ((0..999).map(|i| (i * 7919) % 200_000).collect(), 18),
            ((0..17).map(|i| u32::MAX - i).collect(), 32),
        ] {
            let mut out = Vec::new();
            encode_hybrid(&values, width, &mut out);
            assert_eq!(
                decode_hybrid(&out, width, values.len()),
                values,
                "width {width}"
            );
        }
    }
}
