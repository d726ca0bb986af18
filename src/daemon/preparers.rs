//! The threads that parse and fingerprint fetched documents, at a lower CPU priority than
//! the writer.
//!
//! Preparing a document is parallel work; writing it is the one serial stage of a poll
//! cycle. On a machine with few cores the two compete, and a writer that waits for a core
//! holds everything up: on 2 cores the writer, sharing the scheduler with the parsers, was
//! runnable but waiting for a third of a cold cycle. Fewer parsers than cores leave a core
//! idle whenever the writer waits for work. So there are as many preparing threads as
//! cores, each at [`policy::PREPARE_NICE`]: the scheduler gives the writer a core whenever it
//! has work, and the parsers every cycle it leaves over.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};

use crate::schedule::policy;

type Task = Box<dyn FnOnce() + Send>;

/// A pool of preparing threads, shared by the polls of one process.
pub(crate) struct Preparers {
    tasks: Mutex<Option<mpsc::Sender<Task>>>,
    /// Threads started (none if the OS refused: tasks then run on the caller's thread).
    threads: usize,
}

impl Preparers {
    /// Starts [`policy::preparing_threads`] threads.
    pub fn new() -> Preparers {
        let (tasks, inbox) = mpsc::channel::<Task>();
        let inbox = Arc::new(Mutex::new(inbox));
        let threads = (0..policy::preparing_threads())
            .filter(|i| {
                let inbox = inbox.clone();
                std::thread::Builder::new()
                    .name(format!("tributary-prepare-{i}"))
                    .spawn(move || work(&inbox))
                    .map_err(|e| tracing::error!(error = %e, "cannot start a preparing thread"))
                    .is_ok()
            })
            .count();
        Preparers {
            tasks: Mutex::new(Some(tasks)),
            threads,
        }
    }

    /// Runs `task` on a preparing thread and returns its result; `None` if it panicked
    /// (the panic is caught: it costs only that task) or no thread could be started.
    pub async fn run<T: Send + 'static>(
        &self,
        task: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        if self.threads == 0 {
            return catch_unwind(AssertUnwindSafe(task)).ok();
        }
        let (done, answer) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move || {
            let _ = done.send(task());
        });
        let sent = match self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            Some(tasks) => tasks.send(task).is_ok(),
            None => false,
        };
        if !sent {
            return None;
        }
        answer.await.ok()
    }
}

impl Drop for Preparers {
    fn drop(&mut self) {
        // Closing the channel ends each thread once the queued tasks are done. No join:
        // the last owner of the pool may be one of its own tasks.
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

fn work(inbox: &Mutex<mpsc::Receiver<Task>>) {
    lower_priority(policy::PREPARE_NICE);
    loop {
        let task = inbox.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match task {
            // A panic drops the task's answer: its poll records an internal error.
            Ok(task) => drop(catch_unwind(AssertUnwindSafe(task))),
            Err(_) => return,
        }
    }
}

/// Raises the calling thread's nice value to `nice` (Linux keeps one per thread). Without
/// it (another OS, or refused) preparing only runs at the writer's priority.
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority only read their integer arguments.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
        };
        if result != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "cannot lower the priority of a preparing thread"
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nice_of_this_thread() -> i32 {
        // SAFETY: as in lower_priority.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[tokio::test]
    async fn tasks_run_on_threads_of_lower_priority_and_a_panic_costs_only_its_task() {
        let preparers = Preparers::new();
        let ours = nice_of_this_thread();
        let theirs = preparers.run(nice_of_this_thread).await;
        if ours < policy::PREPARE_NICE {
            assert_eq!(theirs, Some(policy::PREPARE_NICE));
        } else {
            println!("skipped the priority check: the test already runs at nice {ours}");
        }
        let panicked: Option<()> = preparers.run(|| panic!("a broken document")).await;
        assert_eq!(panicked, None);
        assert_eq!(preparers.run(|| 6 * 7).await, Some(42));
    }
}
