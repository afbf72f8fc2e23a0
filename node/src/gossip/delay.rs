//! WAN emulation: a channel that delivers each message a fixed delay after it was sent, in
//! order, without serializing the delays (a pipe with latency, not a slow pipe). This machine
//! cannot shape traffic in the kernel, so the gossip transport adds the delay itself.

use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A sender whose messages reach the returned receiver `delay` later. With a zero delay the
/// channel is direct.
pub fn delayed_channel<T: Send + 'static>(
    capacity: usize,
    delay: Duration,
) -> (mpsc::Sender<T>, mpsc::Receiver<T>) {
    let (out_tx, out_rx) = mpsc::channel(capacity);
    if delay.is_zero() {
        return (out_tx, out_rx);
    }
    let (in_tx, mut in_rx) = mpsc::channel::<T>(capacity);
    let (stamped_tx, mut stamped_rx) = mpsc::channel::<(Instant, T)>(capacity);
    tokio::spawn(async move {
        while let Some(message) = in_rx.recv().await {
            if stamped_tx
                .send((Instant::now() + delay, message))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    tokio::spawn(async move {
        while let Some((due, message)) = stamped_rx.recv().await {
            tokio::time::sleep_until(due).await;
            if out_tx.send(message).await.is_err() {
                return;
            }
        }
    });
    (in_tx, out_rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn messages_arrive_in_order_each_one_delay_after_sending() {
        let (tx, mut rx) = delayed_channel(16, Duration::from_millis(100));
        let start = Instant::now();
        for i in 0..5 {
            tx.send(i).await.unwrap();
        }
        for i in 0..5 {
            assert_eq!(rx.recv().await, Some(i));
        }
        // Five messages sent together arrive together: latency, not a per-message cost.
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }
}
