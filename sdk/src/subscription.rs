//! Subscriptions over the `graphql-transport-ws` websocket protocol, the one the API speaks at
//! the same path as HTTP: one connection per subscription, authenticated by the client's token
//! in `connection_init`.

use std::marker::PhantomData;

use futures::{SinkExt as _, StreamExt as _};
use graphql_client::GraphQLQuery;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::{Answer, ApiError, Client, Error};

/// The websocket subprotocol.
const PROTOCOL: &str = "graphql-transport-ws";
/// The id of the one operation a connection carries.
const ID: &str = "1";

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A running subscription; [`Subscription::next`] yields each event.
pub struct Subscription<Q: GraphQLQuery> {
    socket: Socket,
    operation: PhantomData<Q>,
}

impl Client {
    /// Subscribes to the operation `Q` with `variables`; returns once the server acknowledged
    /// the connection and took the subscription.
    pub async fn subscribe<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
    ) -> Result<Subscription<Q>, Error> {
        let url = websocket_url(&self.endpoint)?;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|err| Error::Websocket(err.to_string()))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(PROTOCOL));
        let (mut socket, _response) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            None,
            true,
            Some(Connector::Rustls(self.tls.clone())),
        )
        .await
        .map_err(|err| Error::Websocket(err.to_string()))?;
        let payload = match &self.token {
            Some(token) => json!({ "authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        send(
            &mut socket,
            &json!({"type": "connection_init", "payload": payload}),
        )
        .await?;
        loop {
            let message = receive(&mut socket).await?.ok_or_else(|| {
                Error::Websocket("the server closed the connection before acknowledging it".into())
            })?;
            match message["type"].as_str() {
                Some("connection_ack") => break,
                Some("ping") => send(&mut socket, &json!({"type": "pong"})).await?,
                _ => return Err(Error::Websocket(format!("unexpected message {message}"))),
            }
        }
        let query = serde_json::to_value(Q::build_query(variables))
            .map_err(|err| Error::Websocket(err.to_string()))?;
        send(
            &mut socket,
            &json!({"id": ID, "type": "subscribe", "payload": query}),
        )
        .await?;
        Ok(Subscription {
            socket,
            operation: PhantomData,
        })
    }
}

impl<Q: GraphQLQuery> Subscription<Q> {
    /// The next event; `None` once the server completed the subscription or closed the
    /// connection.
    pub async fn next(&mut self) -> Option<Result<Q::ResponseData, Error>> {
        loop {
            let message = match receive(&mut self.socket).await {
                Ok(Some(message)) => message,
                Ok(None) => return None,
                Err(err) => return Some(Err(err)),
            };
            match message["type"].as_str() {
                Some("next") => {
                    let answer: Answer<Q::ResponseData> =
                        match serde_json::from_value(message["payload"].clone()) {
                            Ok(answer) => answer,
                            Err(err) => return Some(Err(Error::Websocket(err.to_string()))),
                        };
                    return Some(answer.into_result());
                }
                Some("error") => {
                    let errors: Vec<crate::WireError> =
                        serde_json::from_value(message["payload"].clone()).unwrap_or_default();
                    return Some(Err(Error::Api(
                        errors.into_iter().map(ApiError::from).collect(),
                    )));
                }
                Some("complete") => return None,
                Some("ping") => {
                    if let Err(err) = send(&mut self.socket, &json!({"type": "pong"})).await {
                        return Some(Err(err));
                    }
                }
                _ => {}
            }
        }
    }
}

/// `ws://` or `wss://` for an `http://` or `https://` endpoint.
fn websocket_url(endpoint: &str) -> Result<String, Error> {
    if let Some(rest) = endpoint.strip_prefix("http://") {
        Ok(format!("ws://{rest}"))
    } else if let Some(rest) = endpoint.strip_prefix("https://") {
        Ok(format!("wss://{rest}"))
    } else {
        Err(Error::Websocket(format!(
            "the endpoint {endpoint} is neither http:// nor https://"
        )))
    }
}

async fn send(socket: &mut Socket, message: &Value) -> Result<(), Error> {
    socket
        .send(Message::text(message.to_string()))
        .await
        .map_err(|err| Error::Websocket(err.to_string()))
}

/// The next protocol message; `None` when the connection closed.
async fn receive(socket: &mut Socket) -> Result<Option<Value>, Error> {
    while let Some(frame) = socket.next().await {
        match frame.map_err(|err| Error::Websocket(err.to_string()))? {
            Message::Text(text) => {
                return serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|err| Error::Websocket(format!("a message that is not JSON: {err}")));
            }
            Message::Close(_) => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}
