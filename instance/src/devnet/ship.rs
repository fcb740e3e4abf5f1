//! The devnet's State History websocket, as a Leap 5 `state_history_plugin` session behaves:
//! the SHiP ABI as the first (text) frame, then binary `result`s answering `request`s.
//!
//! [`SessionState`] is the pure flow-control core: which block to send next, how many results
//! may still be unacknowledged, and where to resume after a fork (`to_send = min(accepted,
//! to_send)`, as `session.hpp` does). The async loop around it only moves frames.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::any;
use tokio::sync::{broadcast, watch};

use crate::antelope::binary;
use crate::antelope::ship::{
    self, BlockPosition, GetBlocksRequestV0, GetBlocksResult, GetStatusResult, Request, ShipResult,
};
use crate::devnet::chain::Chain;
use crate::devnet::node::Node;

/// What the SHiP server shares with each session.
#[derive(Debug, Clone)]
pub struct ShipServer {
    node: Arc<Node>,
    shutdown: watch::Receiver<bool>,
}

/// The websocket router: SHiP clients connect to `/` (any path).
pub fn router(node: Arc<Node>, shutdown: watch::Receiver<bool>) -> Router {
    let server = ShipServer { node, shutdown };
    Router::new()
        .route("/", any(upgrade))
        .fallback(any(upgrade))
        .with_state(server)
}

async fn upgrade(State(server): State<ShipServer>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(1 << 20)
        .on_upgrade(move |socket| session(socket, server))
}

/// Flow control of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    request: Option<GetBlocksRequestV0>,
    to_send: u32,
    credits: u32,
}

impl SessionState {
    /// Takes a `get_blocks_request_v0`: starts at `start_block_num`, or earlier at the first
    /// `have_positions` entry whose id differs from the chain's.
    pub fn on_blocks_request(&mut self, mut request: GetBlocksRequestV0, chain: &Chain) {
        for position in &request.have_positions {
            if request.start_block_num <= position.block_num {
                continue;
            }
            let same = chain
                .block(position.block_num)
                .is_some_and(|record| record.id == position.block_id);
            if !same {
                request.start_block_num = request.start_block_num.min(position.block_num);
            }
        }
        self.to_send = request.start_block_num;
        self.credits = request.max_messages_in_flight;
        self.request = Some(request);
    }

    /// Takes an acknowledgement of `num_messages` results.
    pub fn on_ack(&mut self, num_messages: u32) {
        self.credits = self.credits.saturating_add(num_messages);
    }

    /// Notes that `block_num` was accepted; a fork makes the session resend from there.
    pub fn on_accepted(&mut self, block_num: u32) {
        let irreversible_only = self
            .request
            .as_ref()
            .is_some_and(|request| request.irreversible_only);
        if !irreversible_only {
            self.to_send = self.to_send.min(block_num);
        }
    }

    /// The block to send next, if the request, the credits and the chain allow one; taking it
    /// spends a credit.
    pub fn next_block(&mut self, head: u32, lib: u32) -> Option<u32> {
        let request = self.request.as_ref()?;
        let limit = if request.irreversible_only { lib } else { head };
        let block_num = self.to_send.max(1);
        if self.credits == 0 || block_num >= request.end_block_num || block_num > limit {
            return None;
        }
        self.credits -= 1;
        self.to_send = block_num + 1;
        Some(block_num)
    }

    /// The request being served.
    pub fn request(&self) -> Option<&GetBlocksRequestV0> {
        self.request.as_ref()
    }
}

fn position(chain: &Chain, block_num: u32) -> BlockPosition {
    let block_id = chain
        .block(block_num)
        .map(|record| record.id)
        .unwrap_or_default();
    BlockPosition {
        block_num,
        block_id,
    }
}

/// `get_status_result_v0` for the chain.
pub fn status(chain: &Chain) -> ShipResult {
    let head = chain.head_num();
    ShipResult::Status(GetStatusResult {
        head: position(chain, head),
        last_irreversible: position(chain, chain.lib_num()),
        trace_begin_block: 1,
        trace_end_block: head + 1,
        chain_state_begin_block: 1,
        chain_state_end_block: head + 1,
        chain_id: Some(*chain.chain_id()),
        finality_data_blocks: None,
    })
}

/// `get_blocks_result_v0` for `block_num` with what `request` asks for.
pub fn blocks_result(
    chain: &Chain,
    request: &GetBlocksRequestV0,
    block_num: u32,
) -> Option<ShipResult> {
    let record = chain.block(block_num)?;
    let prev_block = (block_num > 1).then(|| position(chain, block_num - 1));
    Some(ShipResult::Blocks(GetBlocksResult {
        head: position(chain, chain.head_num()),
        last_irreversible: position(chain, chain.lib_num()),
        this_block: Some(BlockPosition {
            block_num,
            block_id: record.id,
        }),
        prev_block,
        block: request.fetch_block.then(|| binary::to_bytes(&record.block)),
        traces: request
            .fetch_traces
            .then(|| binary::to_bytes(&record.traces)),
        deltas: request
            .fetch_deltas
            .then(|| binary::to_bytes(&record.deltas)),
        finality_data: None,
    }))
}

async fn session(mut socket: WebSocket, mut server: ShipServer) {
    if socket
        .send(Message::Text(ship::abi_text().into()))
        .await
        .is_err()
    {
        return;
    }
    let mut accepted = server.node.subscribe();
    let mut state = SessionState::default();
    loop {
        loop {
            let next = server.node.read(|chain| {
                let block_num = state.next_block(chain.head_num(), chain.lib_num())?;
                let request = state.request()?;
                blocks_result(chain, request, block_num).map(|result| binary::to_bytes(&result))
            });
            let Some(bytes) = next else { break };
            if socket.send(Message::Binary(bytes.into())).await.is_err() {
                return;
            }
        }
        tokio::select! {
            message = socket.recv() => {
                let data = match message {
                    Some(Ok(Message::Binary(data))) => data,
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Text(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                };
                match binary::from_bytes::<Request>(&data) {
                    Ok(Request::GetStatus) => {
                        let bytes = server.node.read(|chain| binary::to_bytes(&status(chain)));
                        if socket.send(Message::Binary(bytes.into())).await.is_err() {
                            return;
                        }
                    }
                    Ok(Request::GetBlocks(request)) => {
                        server.node.read(|chain| state.on_blocks_request(request, chain));
                    }
                    Ok(Request::GetBlocksAck(num_messages)) => state.on_ack(num_messages),
                    Err(_) => return,
                }
            }
            event = accepted.recv() => match event {
                Ok(block) => state.on_accepted(block.block_num),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let lib = server.node.read(Chain::lib_num);
                    state.on_accepted(lib + 1);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = server.shutdown.changed() => {
                let _closed = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(start: u32, credits: u32, irreversible_only: bool) -> GetBlocksRequestV0 {
        GetBlocksRequestV0 {
            start_block_num: start,
            end_block_num: u32::MAX,
            max_messages_in_flight: credits,
            have_positions: Vec::new(),
            irreversible_only,
            fetch_block: true,
            fetch_traces: true,
            fetch_deltas: true,
        }
    }

    fn state(request: GetBlocksRequestV0) -> SessionState {
        SessionState {
            to_send: request.start_block_num,
            credits: request.max_messages_in_flight,
            request: Some(request),
        }
    }

    #[test]
    fn credits_limit_unacknowledged_results() {
        let mut session = state(request(2, 2, false));
        assert_eq!(session.next_block(10, 9), Some(2));
        assert_eq!(session.next_block(10, 9), Some(3));
        assert_eq!(session.next_block(10, 9), None);
        session.on_ack(1);
        assert_eq!(session.next_block(10, 9), Some(4));
    }

    #[test]
    fn fork_resends_from_the_first_new_block() {
        let mut session = state(request(1, 100, false));
        while session.next_block(6, 5).is_some() {}
        assert_eq!(session.to_send, 7);
        session.on_accepted(5);
        assert_eq!(session.next_block(7, 4), Some(5));
    }

    #[test]
    fn have_positions_resume_at_the_first_mismatch() {
        let mut chain = crate::devnet::fixtures::chain();
        for _ in 0..5 {
            chain
                .produce_block(crate::devnet::fixtures::now(&chain))
                .expect("block");
        }
        let known = |block_num: u32| BlockPosition {
            block_num,
            block_id: chain.block(block_num).expect("block").id,
        };
        let stale = BlockPosition {
            block_num: 4,
            block_id: Default::default(),
        };
        let mut resumed = request(6, 10, false);
        resumed.have_positions = vec![known(2), known(3), stale];
        let mut session = SessionState::default();
        session.on_blocks_request(resumed, &chain);
        assert_eq!(
            session.next_block(chain.head_num(), chain.lib_num()),
            Some(4)
        );

        let mut matching = request(6, 10, false);
        matching.have_positions = vec![known(4), known(5)];
        session.on_blocks_request(matching, &chain);
        assert_eq!(
            session.next_block(chain.head_num(), chain.lib_num()),
            Some(6)
        );
    }

    #[test]
    fn irreversible_only_waits_for_lib_and_ignores_forks() {
        let mut session = state(request(3, 100, true));
        assert_eq!(session.next_block(5, 2), None);
        assert_eq!(session.next_block(5, 3), Some(3));
        session.on_accepted(2);
        assert_eq!(session.next_block(6, 4), Some(4));
    }
}
