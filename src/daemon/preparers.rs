//! The threads that parse and fingerprint fetched documents, at a lower CPU priority than
//! the writer.
//!
//! Preparing a document is parallel work; writing it is the one serial stage of a poll
//! cycle. On a machine with few cores the two compete, and a writer that waits for a core
//! holds everything up (`examples/poll_bench` shows how much: BENCHMARKS.md, "Polling").
//! Fewer parsers than cores leave a core idle whenever the writer waits for work. So there are as many preparing threads as
//! cores, each [`policy::PREPARE_NICE`] nice levels nicer than the process: the scheduler
//! gives the writer a core whenever it has work, and the parsers every cycle it leaves
//! over.

use parking_lot::Mutex;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};

use super::policy;
use crate::platform;

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

    /// Runs `task` on a preparing thread and returns its result; `None` if it panicked (the
    /// panic is caught: it costs only that task). If the OS refused every preparing thread,
    /// `task` runs on the caller's thread instead: slower, but nothing is lost.
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
        let sent = match self.tasks.lock().as_ref() {
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
        self.tasks.lock().take();
    }
}

fn work(inbox: &Mutex<mpsc::Receiver<Task>>) {
    lower_priority(policy::PREPARE_NICE);
    loop {
        let task = inbox.lock().recv();
        match task {
            // A panic drops the task's answer: its poll records an internal error.
            Ok(task) => drop(catch_unwind(AssertUnwindSafe(task))),
            Err(_) => return,
        }
    }
}

/// The highest nice value Linux has (the lowest priority).
const NICEST: i32 = 19;

/// Makes the calling thread `by` nice levels nicer than it is (its nice value is inherited
/// from the thread that started it: the process's). Relative, not a fixed value: a daemon
/// started at nice 15 (systemd's `Nice=15`) would otherwise be refused the change,
/// unprivileged, or, as root, give its parsers a higher priority than its writer. Without it
/// (another OS, or refused) preparing only runs at the writer's priority.
fn lower_priority(by: i32) {
    let result = platform::nice_of_this_thread().and_then(|current| {
        platform::set_nice_of_this_thread(current.saturating_add(by).min(NICEST))
    });
    if let Err(error) = result {
        tracing::debug!(
            error = %error,
            "cannot lower the priority of a preparing thread"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nice_of_this_thread() -> i32 {
        platform::nice_of_this_thread().unwrap()
    }

    #[tokio::test]
    async fn tasks_run_on_threads_of_lower_priority_and_a_panic_costs_only_its_task() {
        let preparers = Preparers::new();
        let ours = nice_of_this_thread();
        let theirs = preparers.run(nice_of_this_thread).await;
        if ours + policy::PREPARE_NICE <= NICEST {
            assert_eq!(theirs, Some(ours + policy::PREPARE_NICE));
        } else {
            println!("skipped the priority check: the test already runs at nice {ours}");
        }
        let panicked: Option<()> = preparers.run(|| panic!("a broken document")).await;
        assert_eq!(panicked, None);
        assert_eq!(preparers.run(|| 6 * 7).await, Some(42));
    }

    /// A daemon started at a nice value of its own (systemd's `Nice=15`, `nice -n 15`)
    /// keeps its writer ahead of its parsers: they run [`policy::PREPARE_NICE`] levels
    /// below the process, not at a fixed value above or below it.
    #[test]
    fn preparing_threads_run_below_a_process_started_nicer() {
        let started_at = 5;
        let (ours, theirs) = std::thread::spawn(move || {
            // Refused when the test already runs nicer: checked below.
            let _ = platform::set_nice_of_this_thread(started_at);
            let ours = nice_of_this_thread();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let preparers = Preparers::new();
            (ours, runtime.block_on(preparers.run(nice_of_this_thread)))
        })
        .join()
        .unwrap();
        if ours != started_at {
            println!("skipped: the test already runs at nice {ours}");
            return;
        }
        assert_eq!(theirs, Some(started_at + policy::PREPARE_NICE));
    }
}
