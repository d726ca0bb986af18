//! The operating-system and CPU calls the daemon makes beyond what `std` offers, behind safe
//! functions: the only module allowed `unsafe` code (the crate roots deny it everywhere else).
//!
//! Why a fence: each call here is a hint or a process setting (the allocator's mmap
//! threshold, huge pages for the dedup tables, a cache-line prefetch, a thread's nice
//! value, the SIGPIPE action) whose safety argument is local and short, and a reader should
//! find every such argument in one file instead of auditing the whole tree. Where a
//! well-kept crate already wraps a call safely (`rustix` for the thread's id and nice value),
//! it is used; the rest are one `libc` call or one intrinsic each, with its SAFETY comment.
//! Every function is a no-op, or reports `Unsupported`, where the platform lacks the call:
//! the daemon works the same without them, only slower or with a larger footprint.

/// Makes glibc's malloc give every allocation of 256 KiB or more its own mapping, returned
/// to the system when freed. By default glibc raises that threshold to the size of each
/// large block freed (up to 32 MiB), after which the dedup index's day tables (tens of MiB,
/// replaced day after day) and growing vectors are carved from the heap and leave holes it
/// cannot return (the peak-memory figures are in BENCHMARKS.md, "dedup-bench"). Call it
/// once at startup, before other threads start.
pub fn keep_large_allocations_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of glibc's allocator (under its lock).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Restores the default action of SIGPIPE (the Rust runtime ignores it, so printing to a
/// closed pipe panics with "failed printing to stdout"): the process then ends quietly when
/// its reader goes away, as `ls | head` does. Only for commands without sockets: a daemon
/// or a fetch must see a broken connection as an error, not die of it. Call it before any
/// thread starts.
pub fn die_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default has no preconditions; callers
    // run it before any thread of theirs is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Asks the kernel to back the (not yet touched) memory of `v`'s capacity with 2 MiB pages
/// (transparent huge pages, when set to `madvise` as most distributions do). For large
/// tables probed at random: with 4 KiB pages nearly every probe is a TLB miss as well as a
/// cache miss. Only a hint: where refused, or off Linux, the memory works the same on small
/// pages. Worth it only for allocations of several MiB (each a mapping of its own).
pub fn ask_for_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        let start = v.as_ptr() as usize;
        let aligned = start.next_multiple_of(PAGE);
        let Some(len) = bytes.checked_sub(aligned - start).filter(|&len| len > 0) else {
            return;
        };
        // SAFETY: madvise with MADV_HUGEPAGE reads and writes no memory: it only marks how
        // the kernel may back this range, which lies inside the vector's own allocation
        // from a page boundary on. A refusal (EINVAL where THP is off) is ignored.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// Asks the CPU to load the cache line holding `slice[index]`, for a probe a few steps
/// later (a hint: where x86_64 prefetches, nothing elsewhere; an index out of bounds
/// fetches nothing useful and harms nothing).
#[inline]
pub fn prefetch<T>(slice: &[T], index: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let at = slice.as_ptr().wrapping_add(index);
        // SAFETY: a prefetch is a hint: it reads nothing architecturally visible and never
        // faults, whatever the address. SSE is part of every x86_64 CPU.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, index);
}

/// The nice value of the calling thread (Linux keeps one per thread, inherited from the
/// thread that started it).
pub fn nice_of_this_thread() -> std::io::Result<i32> {
    #[cfg(target_os = "linux")]
    {
        Ok(rustix::process::getpriority_process(Some(
            rustix::thread::gettid(),
        ))?)
    }
    #[cfg(not(target_os = "linux"))]
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Sets the nice value of the calling thread only (not the process's other threads).
/// Raising it is always allowed; lowering it needs privilege.
pub fn set_nice_of_this_thread(nice: i32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        Ok(rustix::process::setpriority_process(
            Some(rustix::thread::gettid()),
            nice,
        )?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn a_thread_can_raise_its_own_nice_value_without_touching_the_others() {
        let (before, after) = std::thread::spawn(|| {
            let before = nice_of_this_thread().unwrap();
            let target = (before + 1).min(19);
            set_nice_of_this_thread(target).unwrap();
            (before, nice_of_this_thread().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(after, (before + 1).min(19));
        assert_eq!(nice_of_this_thread().unwrap(), before);
    }

    #[test]
    fn hints_accept_any_vector_and_index() {
        let empty: Vec<u64> = Vec::new();
        ask_for_huge_pages(&empty);
        prefetch(&empty, 0);
        let big = vec![0u64; 1 << 20];
        ask_for_huge_pages(&big);
        prefetch(&big, big.len() + 1000);
        assert_eq!(big.len(), 1 << 20);
    }
}
