//! Argon2 credential checks on a few dedicated threads. At most `threads`
//! checks run at once (each takes 19 MiB), callers wait a bounded time for
//! their turn, and only these threads' allocator arenas ever hold Argon2's
//! blocks: on the shared blocking pool every thread that ran one kept its
//! 19 MiB in its arena (release build, 64 concurrent bad token requests:
//! +300 MiB of RSS there, +114 to +172 MiB here, +1,160 MiB before any
//! bound; `scripts/resource-attacks.py`).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// Why a check did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashPoolError {
    #[error("every credential-check thread stayed busy for the whole wait")]
    Busy,
    #[error("the credential-check threads are gone")]
    Gone,
}

#[derive(Debug)]
pub struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
    permits: Semaphore,
}

impl HashPool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> HashPool {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("openinsights-argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // The pool was dropped.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "starting a credential-check thread failed");
            }
        }
        HashPool {
            jobs: Mutex::new(tx),
            permits: Semaphore::new(threads),
        }
    }

    /// Runs `check` on a pool thread once one is free, waiting at most
    /// `wait` for that.
    pub async fn run<T: Send + 'static>(
        &self,
        wait: Duration,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashPoolError> {
        let _permit = tokio::time::timeout(wait, self.permits.acquire())
            .await
            .map_err(|_| HashPoolError::Busy)?
            .map_err(|_| HashPoolError::Gone)?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(check());
        });
        self.jobs
            .lock()
            .map_err(|_| HashPoolError::Gone)?
            .send(job)
            .map_err(|_| HashPoolError::Gone)?;
        rx.await.map_err(|_| HashPoolError::Gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_run_on_the_pool_and_a_full_pool_says_busy() {
        let pool = Arc::new(HashPool::new(1));
        let name = pool
            .run(Duration::from_secs(1), || {
                std::thread::current().name().map(str::to_string)
            })
            .await;
        assert_eq!(name, Ok(Some("openinsights-argon2-0".to_string())));
        let slow = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                pool.run(Duration::from_secs(1), || {
                    std::thread::sleep(Duration::from_millis(300))
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let busy = pool.run(Duration::from_millis(10), || ()).await;
        assert_eq!(busy, Err(HashPoolError::Busy));
        assert_eq!(slow.await.ok(), Some(Ok(())));
    }
}
