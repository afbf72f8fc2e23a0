//! The callee side of a sync: authenticate the caller's hello, answer with a signed hello,
//! stream the events the caller lacks, and take in what the caller sends.

use super::auth::HelloRole;
use super::context::{now_ms, GossipContext};
use super::delay::delayed_channel;
use super::exchange::{receive_all, send_events, Received};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{timeout_at, Instant};
use tokio_stream::{wrappers::ReceiverStream, Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::debug;
use votegraph_consensus::MemberId;
use votegraph_proto::gossip::v1::gossip_server::Gossip;
use votegraph_proto::gossip::v1::{sync_frame::Frame, SyncFrame};

/// Frames buffered per direction of one sync.
const FRAMES_IN_FLIGHT: usize = 8;

pub struct GossipService {
    pub context: Arc<GossipContext>,
}

type FrameStream = Pin<Box<dyn Stream<Item = Result<SyncFrame, Status>> + Send>>;

#[tonic::async_trait]
impl Gossip for GossipService {
    type SyncStream = FrameStream;

    async fn sync(
        &self,
        request: Request<Streaming<SyncFrame>>,
    ) -> Result<Response<Self::SyncStream>, Status> {
        let context = Arc::clone(&self.context);
        let mut inbound = request.into_inner();
        // An honest caller sends its hello first thing and gives up on a sync at the sync
        // timeout. A stream that shows no hello by then, or any sync still open then, is closed:
        // a connection that died silently must not keep its place among the peer's open syncs.
        let ends_by = Instant::now() + Duration::from_millis(context.settings.sync_timeout_ms);
        let first = timeout_at(ends_by, inbound.message())
            .await
            .map_err(|_| Status::deadline_exceeded("no hello within the sync timeout"))??;
        let hello = match first {
            Some(SyncFrame {
                frame: Some(Frame::Hello(hello)),
            }) => hello,
            _ => return Err(Status::invalid_argument("a sync must open with a hello")),
        };
        context
            .checker
            .check(&hello, now_ms(), HelloRole::Request)
            .map_err(|e| Status::unauthenticated(e.to_string()))?;
        let peer = MemberId(hello.from_member);
        let open = context
            .open_syncs
            .open(peer)
            .map_err(|e| Status::resource_exhausted(e.to_string()))?;
        let missing = context
            .events_for(&hello)
            .await
            .map_err(|behind| Status::failed_precondition(behind.to_string()))?;
        let (out, frames) = delayed_channel(FRAMES_IN_FLIGHT, context.delay_to(peer));
        let answer = context.answer_to(peer, &hello);
        let limits = context.frame_limits();
        let sending = Arc::clone(&open);
        tokio::spawn(async move {
            let _open = sending;
            let hello = SyncFrame {
                frame: Some(Frame::Hello(answer)),
            };
            let send = async {
                if out.send(hello).await.is_ok() {
                    send_events(&out, missing, limits).await;
                }
            };
            if timeout_at(ends_by, send).await.is_err() {
                debug!(
                    peer = peer.0,
                    "answer to peer not taken within the sync timeout"
                );
            }
        });
        tokio::spawn(async move {
            let _open = open;
            let mut received = Received::default();
            let receive = receive_all(&context, peer, &mut inbound, &mut received);
            match timeout_at(ends_by, receive).await {
                Ok(Ok(())) => {}
                Ok(Err(status)) => debug!(peer = peer.0, %status, "sync from peer ended early"),
                Err(_) => debug!(
                    peer = peer.0,
                    "sync from peer still open at the sync timeout"
                ),
            }
        });
        let stream = ReceiverStream::new(frames).map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }
}
