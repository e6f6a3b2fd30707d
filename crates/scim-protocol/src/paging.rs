//! Pagination (RFC 7644 §3.4.2.4): the 1-based `startIndex` and the `count` of a list
//! request, made into a window of the (stably ordered) results.

/// The page a list request asks for, once normalised (RFC 7644 §3.4.2.4): `startIndex`
/// below 1 is read as 1, a negative `count` as 0, and `count` is capped by the service
/// provider's `maxResults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The 1-based index of the first result.
    pub start_index: u64,
    /// The most results on the page.
    pub count: u64,
}

impl Page {
    /// The page of `start_index` and `count` as sent (absent: 1, and `default_count`),
    /// with `count` at most `max_results`.
    pub fn new(
        start_index: Option<i64>,
        count: Option<i64>,
        default_count: u64,
        max_results: u64,
    ) -> Page {
        let start_index = start_index.map_or(1, |s| u64::try_from(s.max(1)).unwrap_or(1));
        let count = count.map_or(default_count, |c| u64::try_from(c.max(0)).unwrap_or(0));
        Page {
            start_index,
            count: count.min(max_results),
        }
    }

    /// [`Page::new`] from the query parameters' text; a value that is not an integer is
    /// read as absent.
    pub fn from_params(
        start_index: Option<&str>,
        count: Option<&str>,
        default_count: u64,
        max_results: u64,
    ) -> Page {
        let int = |s: Option<&str>| s.and_then(|s| s.trim().parse::<i64>().ok());
        Page::new(int(start_index), int(count), default_count, max_results)
    }

    /// The 0-based range of `total` results on this page (empty past the end).
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = usize::try_from(self.start_index - 1)
            .unwrap_or(usize::MAX)
            .min(total);
        let len = usize::try_from(self.count).unwrap_or(usize::MAX);
        start..start.saturating_add(len).min(total)
    }

    /// The slice of `results` on this page.
    pub fn slice<'a, T>(&self, results: &'a [T]) -> &'a [T] {
        results.get(self.range(results.len())).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_normalised_as_the_rfc_says() {
        assert_eq!(
            Page::new(None, None, 100, 200),
            Page {
                start_index: 1,
                count: 100
            }
        );
        assert_eq!(
            Page::new(Some(0), Some(-5), 100, 200),
            Page {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(Page::new(Some(-3), Some(1000), 100, 200).count, 200);
        assert_eq!(
            Page::from_params(Some("11"), Some("abc"), 50, 200),
            Page {
                start_index: 11,
                count: 50
            }
        );
    }

    #[test]
    fn the_window_stays_within_the_results() {
        let results: Vec<u32> = (1..=25).collect();
        assert_eq!(
            Page::new(Some(1), Some(10), 0, 100).slice(&results),
            &results[0..10]
        );
        assert_eq!(
            Page::new(Some(21), Some(10), 0, 100).slice(&results),
            &results[20..25]
        );
        assert!(
            Page::new(Some(26), Some(10), 0, 100)
                .slice(&results)
                .is_empty()
        );
        assert!(
            Page::new(Some(i64::MAX), Some(i64::MAX), 0, u64::MAX)
                .slice(&results)
                .is_empty()
        );
        assert!(
            Page::new(Some(1), Some(0), 0, 100)
                .slice(&results)
                .is_empty()
        );
        assert_eq!(Page::new(Some(1), None, u64::MAX, u64::MAX).range(3), 0..3);
    }
}
