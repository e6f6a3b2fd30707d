//! A set of operation key digests for the check of a saved plan: millions of 128-bit
//! digests, looked up millions of times.

/// Key digests, sorted, with where each run of digests sharing their first bits starts:
/// digests are spread evenly, so a lookup reads one short run (one or two cache misses)
/// where a binary search of millions would wait on memory at each of its last dozen steps.
pub(super) struct DigestSet {
    sorted: Vec<u128>,
    /// Per value of the first `bits` bits, the position of the first digest at or past it
    /// (one more entry, the length, closes the last run).
    starts: Vec<usize>,
    bits: u32,
}

impl DigestSet {
    /// The set of `digests` (repeats allowed).
    pub(super) fn new(mut digests: Vec<u128>) -> DigestSet {
        digests.sort_unstable();
        // About two digests a run.
        let bits = (digests.len() / 2)
            .max(2)
            .next_power_of_two()
            .trailing_zeros();
        let runs = 1usize << bits;
        let mut starts = Vec::with_capacity(runs + 1);
        let mut at = 0;
        for run in 0..runs {
            while digests
                .get(at)
                .is_some_and(|&d| DigestSet::run_of(d, bits) < run)
            {
                at += 1;
            }
            starts.push(at);
        }
        starts.push(digests.len());
        DigestSet {
            sorted: digests,
            starts,
            bits,
        }
    }

    /// The run of `digest`: its first `bits` bits (1 to 63).
    fn run_of(digest: u128, bits: u32) -> usize {
        // Fewer than 64 bits: the value fits.
        (digest >> (128 - bits)) as usize
    }

    /// Whether `digest` is in the set.
    pub(super) fn contains(&self, digest: u128) -> bool {
        let run = DigestSet::run_of(digest, self.bits);
        match (self.starts.get(run), self.starts.get(run + 1)) {
            (Some(&from), Some(&to)) => self
                .sorted
                .get(from..to)
                .is_some_and(|r| r.contains(&digest)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_set_finds_exactly_its_digests() {
        assert!(!DigestSet::new(Vec::new()).contains(0));
        // Spread as digests are, and bunched at both ends of the range.
        let mut x = 0x9e37_79b9_7f4a_7c15_u128;
        let mut next = || {
            x = x.wrapping_mul(0x2545_f491_4f6c_dd1d_0000_0000_0000_0001) ^ (x >> 61);
            x
        };
        let mut held: Vec<u128> = (0..10_000).map(|_| next()).collect();
        held.extend([0, 1, 2, u128::MAX, u128::MAX - 1]);
        held.extend(held[..100].to_vec());
        let set = DigestSet::new(held.clone());
        for d in &held {
            assert!(set.contains(*d), "{d:x}");
        }
        let mut missed = 0;
        for _ in 0..10_000 {
            let d = next();
            if !held.contains(&d) {
                assert!(!set.contains(d), "{d:x}");
                missed += 1;
            }
        }
        assert!(missed > 9_000);
        assert!(!set.contains(3) && !set.contains(u128::MAX - 2));
    }
}
