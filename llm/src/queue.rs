//! A fair (first come, first served) queue in front of a generator.
//!
//! One model generates for one caller at a time: on a 2-core box, two concurrent
//! generations each run at less than half speed. Waiting callers learn their position and
//! may give up; a ticket abandoned or finished, even by a panic, lets the next caller in.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How often a waiting caller hears its position even when it has not changed.
pub const REPORT_EVERY: Duration = Duration::from_millis(500);

use crate::generator::{GenerationEvent, GenerationRequest, GenerationStats, Generator};
use crate::{Error, Result};

#[derive(Debug, Default)]
struct Tickets {
    next: u64,
    serving: u64,
    abandoned: BTreeSet<u64>,
}

impl Tickets {
    fn advance(&mut self) {
        self.serving += 1;
        while self.abandoned.remove(&self.serving) {
            self.serving += 1;
        }
    }
}

/// Serves callers one at a time in arrival order.
#[derive(Debug, Default)]
pub struct FairQueue {
    tickets: Mutex<Tickets>,
    turn: Condvar,
}

/// Moves the queue on when the current caller finishes, however it finishes.
struct Turn<'a>(&'a FairQueue);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut tickets = self.0.tickets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tickets.advance();
        self.0.turn.notify_all();
    }
}

impl FairQueue {
    /// Waits for this caller's turn, reporting the number of callers ahead to `on_wait`
    /// when it changes and at least every [`REPORT_EVERY`] (so a caller can give up on a
    /// deadline; returning `false` gives up), then runs `work`.
    pub fn run<T>(&self, on_wait: &mut dyn FnMut(usize) -> bool, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut tickets = self.tickets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let ticket = tickets.next;
        tickets.next += 1;
        let mut reported: Option<(usize, Instant)> = None;
        while tickets.serving != ticket {
            let ahead = (ticket - tickets.serving) as usize - tickets.abandoned.range(tickets.serving..ticket).count();
            let due = reported.is_none_or(|(last, at)| last != ahead || at.elapsed() >= REPORT_EVERY);
            if due {
                reported = Some((ahead, Instant::now()));
                drop(tickets);
                let keep_waiting = on_wait(ahead);
                tickets = self.tickets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if !keep_waiting {
                    if tickets.serving == ticket {
                        tickets.advance();
                        self.turn.notify_all();
                    } else {
                        tickets.abandoned.insert(ticket);
                    }
                    return Err(Error::Cancelled);
                }
                continue;
            }
            tickets = self
                .turn
                .wait_timeout(tickets, REPORT_EVERY)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        drop(tickets);
        let _turn = Turn(self);
        work()
    }
}

/// A generator behind a [`FairQueue`]; callers see [`GenerationEvent::Queued`] while waiting.
pub struct QueuedGenerator<G> {
    inner: G,
    queue: FairQueue,
}

impl<G: Generator + ?Sized> QueuedGenerator<Box<G>> {
    /// Queues a generator already behind a pointer (`Box<dyn Generator>`).
    pub fn boxed(inner: Box<G>) -> Self {
        Self {
            inner,
            queue: FairQueue::default(),
        }
    }
}

impl<G: Generator> QueuedGenerator<G> {
    pub fn new(inner: G) -> Self {
        Self {
            inner,
            queue: FairQueue::default(),
        }
    }
}

impl<G: Generator> Generator for QueuedGenerator<G> {
    fn generate(
        &self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(GenerationEvent<'_>) -> bool,
    ) -> Result<GenerationStats> {
        let on_event = std::cell::RefCell::new(on_event);
        self.queue.run(
            &mut |ahead| (on_event.borrow_mut())(GenerationEvent::Queued { ahead }),
            || {
                self.inner
                    .generate(request, &mut |event| (on_event.borrow_mut())(event))
            },
        )
    }

    fn relevance(&self, question: &str, passage: &str) -> Result<Option<f32>> {
        self.queue
            .run(&mut |_| true, || self.inner.relevance(question, passage))
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }

    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A caller that holds the queue until the returned sender is used.
    fn hold(queue: &Arc<FairQueue>) -> (std::thread::JoinHandle<Result<()>>, std::sync::mpsc::Sender<()>) {
        let (started_sender, started_receiver) = std::sync::mpsc::channel();
        let (release_sender, release_receiver) = std::sync::mpsc::channel::<()>();
        let queue = queue.clone();
        let holder = std::thread::spawn(move || {
            queue.run(&mut |_| true, || {
                started_sender.send(()).unwrap();
                release_receiver.recv().unwrap();
                Ok(())
            })
        });
        started_receiver.recv().unwrap();
        (holder, release_sender)
    }

    /// Regression: the test waited a fixed 50 ms for each waiter to take its ticket, and
    /// on a loaded CI machine the third waiter arrived after the queue had emptied. Each
    /// waiter now says when it has heard its first position before the next one starts.
    #[test]
    fn callers_run_one_at_a_time_in_order_and_see_their_position() {
        let queue = Arc::new(FairQueue::default());
        let running = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        let (first, release_sender) = hold(&queue);
        let mut waiters = Vec::new();
        for index in 0..3 {
            let (queue, running, order) = (queue.clone(), running.clone(), order.clone());
            let (waiting_sender, waiting_receiver) = std::sync::mpsc::channel();
            waiters.push(std::thread::spawn(move || {
                let mut positions = Vec::new();
                queue
                    .run(
                        &mut |ahead| {
                            if positions.is_empty() {
                                waiting_sender.send(()).unwrap();
                            }
                            positions.push(ahead);
                            true
                        },
                        || {
                            assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0, "two callers at once");
                            order.lock().unwrap().push(index);
                            running.fetch_sub(1, Ordering::SeqCst);
                            Ok(())
                        },
                    )
                    .unwrap();
                positions
            }));
            waiting_receiver
                .recv_timeout(Duration::from_secs(30))
                .expect("a waiter behind a held queue hears its position");
        }
        release_sender.send(()).unwrap();
        first.join().unwrap().unwrap();
        let positions: Vec<Vec<usize>> = waiters.into_iter().map(|waiter| waiter.join().unwrap()).collect();
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
        assert_eq!(
            positions[2].first(),
            Some(&3),
            "third waiter starts with three callers ahead"
        );
    }

    #[test]
    fn a_waiting_caller_hears_its_position_until_it_gives_up() {
        let queue = Arc::new(FairQueue::default());
        let (holder, release_sender) = hold(&queue);
        let started = Instant::now();
        let mut reports = 0;
        let outcome = queue.run(
            &mut |ahead| {
                assert_eq!(ahead, 1);
                reports += 1;
                reports < 3
            },
            || Ok(()),
        );
        assert!(matches!(outcome, Err(Error::Cancelled)));
        assert_eq!(reports, 3);
        // An unchanged position is repeated every REPORT_EVERY, not in a busy loop.
        assert!(started.elapsed() >= REPORT_EVERY * 2, "{:?}", started.elapsed());
        release_sender.send(()).unwrap();
        holder.join().unwrap().unwrap();
    }

    #[test]
    fn an_abandoned_ticket_does_not_block_the_queue() {
        let queue = Arc::new(FairQueue::default());
        let (holder, release_sender) = hold(&queue);
        let gave_up = queue.run(&mut |_| false, || Ok(()));
        assert!(matches!(gave_up, Err(Error::Cancelled)));
        release_sender.send(()).unwrap();
        holder.join().unwrap().unwrap();
        assert!(
            queue.run(&mut |_| true, || Ok(7)).unwrap() == 7,
            "queue moved past the abandoned ticket"
        );
    }
}
