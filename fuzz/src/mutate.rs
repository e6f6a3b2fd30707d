//! Deterministic input mutations, so that `cargo test` exercises the fuzz target bodies
//! beyond their seeds without libFuzzer: a small seeded generator and the usual byte-level
//! edits (bit flips, byte and token insertion, deletion, duplication, truncation,
//! splicing two inputs), biased towards the tokens the parsers branch on.

/// A xorshift64* generator: tiny, seedable, the same sequence on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (0 is replaced, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Tokens of JSON, YAML and TOML, and values the parsers treat specially.
pub const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"false",
    b"0",
    b"-1",
    b"1e999",
    b"-0.0",
    b"18446744073709551616",
    b"\"\"",
    b"\\u0000",
    b"\\ud800",
    b"\n",
    b"- ",
    b": ",
    b"&a ",
    b"*a",
    b"!!binary ",
    b"---\n",
    b"...\n",
    b"[[",
    b"]]",
    b"=",
    b"'''",
    b"\"\"\"",
    b"#",
    b"\t",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"~",
    b"adapter",
    b"source",
    b"targets",
    b"state",
    b"users",
    b"groups",
    b"roles",
    b"grants",
    b"id",
    b"login",
    b"name",
    b"email",
    b"scope",
    b"global",
    b"project",
    b"code",
    b"message",
    b"errors",
    b"errorType",
    b"ERR009",
    b"access_token",
];

/// One mutation of `input`, drawing from `rng`; `other` is spliced in by some edits.
pub fn mutate(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, rng.below(256) as u8),
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                out.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                let piece = out[i..i + n].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, piece);
            }
            5 => out.truncate(at),
            6 if !other.is_empty() => {
                let i = rng.below(other.len());
                let n = 1 + rng.below((other.len() - i).min(64));
                out.splice(at..at, other[i..i + n].iter().copied());
            }
            7 if len > 0 => {
                let i = rng.below(len);
                out[i] = TOKENS[rng.below(TOKENS.len())][0];
            }
            _ => {
                // Replace a run of digits or letters with an interesting number.
                let n = [b"0".as_slice(), b"-1", b"4294967296", b"1e308", b"NaN"][rng.below(5)];
                out.splice(at..at, n.iter().copied());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        for _ in 0..200 {
            assert_eq!(
                mutate(b"{\"a\": [1, 2]}", b"x: y", &mut a),
                mutate(b"{\"a\": [1, 2]}", b"x: y", &mut b)
            );
        }
        let mut c = Rng::new(43);
        let differ =
            (0..50).any(|_| mutate(b"abcdef", b"", &mut c) != mutate(b"abcdef", b"", &mut a));
        assert!(differ);
    }
}
