//! The callee side of a sync: authenticate the caller's hello, answer with a signed hello,
//! stream the events the caller lacks, and take in what the caller sends.

use super::auth::HelloRole;
use super::context::{now_ms, GossipContext};
use super::delay::delayed_channel;
use super::exchange::{receive_all, send_events, Received};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
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
        // The caller gives up a sync after this long, so nothing it sends comes later.
        let sync_timeout = Duration::from_millis(context.settings.sync_timeout_ms);
        let first = tokio::time::timeout(sync_timeout, inbound.message())
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
        let slot = context.incoming.enter(peer).map_err(|e| {
            metrics::counter!("votegraph_sync_refused_total", "reason" => "busy").increment(1);
            Status::resource_exhausted(e.to_string())
        })?;
        let missing = context
            .events_for(&hello)
            .await
            .map_err(|behind| Status::failed_precondition(behind.to_string()))?;
        let (out, frames) = delayed_channel(FRAMES_IN_FLIGHT, context.delay_to(peer));
        let answer = context.answer_to(peer, &hello);
        let limits = context.frame_limits();
        tokio::spawn(async move {
            let hello = SyncFrame {
                frame: Some(Frame::Hello(answer)),
            };
            if out.send(hello).await.is_ok() {
                send_events(&out, missing, limits).await;
            }
        });
        tokio::spawn(async move {
            let _slot = slot;
            let mut received = Received::default();
            let receiving = receive_all(&context, peer, &mut inbound, &mut received);
            match tokio::time::timeout(sync_timeout, receiving).await {
                Ok(Ok(())) => {}
                Ok(Err(status)) => debug!(peer = peer.0, %status, "sync from peer ended early"),
                Err(_) => debug!(
                    peer = peer.0,
                    "sync from peer outlasted the sync timeout; closed"
                ),
            }
        });
        let stream = ReceiverStream::new(frames).map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }
}
