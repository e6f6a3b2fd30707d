//! Resident memory of this process, from `/proc/self/status` (Linux).

/// A `VmXXX:  1234 kB` line of `/proc/self/status`, in MiB.
fn status_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let kb: f64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kb / 1024.0)
    })
}

/// The peak resident set size (`VmHWM`), in MiB; `None` where `/proc` is unavailable.
pub fn peak_mib() -> Option<f64> {
    status_mib("VmHWM")
}

/// The current resident set size (`VmRSS`), in MiB.
pub fn current_mib() -> Option<f64> {
    status_mib("VmRSS")
}

/// Resets the peak to the current resident size (`echo 5 > /proc/self/clear_refs`, Linux
/// 4.0+), so that a later [`peak_mib`] measures from now on. Returns whether it worked.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return;
        }
        let now = current_mib().expect("VmRSS");
        let peak = peak_mib().expect("VmHWM");
        // The peak is read after the current size, and never falls.
        assert!(now > 0.0 && peak + 0.01 >= now, "{now} {peak}");
    }
}
