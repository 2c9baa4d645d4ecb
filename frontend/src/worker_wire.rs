//! What the worker says besides `oxbook_protocol::KernelEvent`. Private to this crate's two
//! binaries, so it stays out of the shared protocol.

use serde::{Deserialize, Serialize};

/// Posted by the worker's panic hook just before the panic aborts the wasm instance, so
/// that the page can say *why* the kernel died (the `error` event that follows only says
/// "unreachable").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanicReport {
    pub kernel_panicked: String,
}

/// A message from the worker, as the page reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerMessage {
    Event(oxbook_protocol::KernelEvent),
    Panicked(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the kernel sent a message the page does not understand ({reason}): {text}")]
pub struct UnknownMessage {
    pub reason: String,
    pub text: String,
}

impl WorkerMessage {
    pub fn parse(text: &str) -> Result<WorkerMessage, UnknownMessage> {
        match serde_json::from_str::<oxbook_protocol::KernelEvent>(text) {
            Ok(event) => Ok(WorkerMessage::Event(event)),
            Err(event_error) => match serde_json::from_str::<PanicReport>(text) {
                Ok(report) => Ok(WorkerMessage::Panicked(report.kernel_panicked)),
                Err(_) => Err(UnknownMessage {
                    reason: event_error.to_string(),
                    text: text.chars().take(200).collect(),
                }),
            },
        }
    }
}
