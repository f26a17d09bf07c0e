//! One answer stream for every front end: `/api/ask`, `/v1/chat/completions` and
//! `appliance ask` all read the same events, so they cannot differ in what they audit,
//! when they stop generating, or what an error tells the caller.
//!
//! The answer runs on its own task. Progress flows through a bounded channel to the
//! reader; when the reader goes away (a browser tab closed) the forwarding ends, the
//! generator sees its event channel closed and stops, and the question is still audited.

use tokio::sync::mpsc;

use super::{Answer, AnswerEvent, Engine};
use crate::acl::Acl;

/// What a reader of an answer stream receives: progress, then exactly one of `Done` or
/// `Failed`.
#[derive(Debug)]
pub enum StreamEvent {
    Progress(AnswerEvent),
    Done(Box<Answer>),
    /// The answer failed; the message is safe to show (internal details stay in the log).
    Failed(String),
}

/// A question to answer on a stream.
#[derive(Debug, Clone)]
pub struct Question {
    pub text: String,
    /// What to retrieve with (a follow-up joined with the question before it).
    pub retrieval_query: String,
    pub acl: Acl,
    pub actor: String,
}

impl Question {
    /// A question retrieved by its own text.
    pub fn new(text: &str, acl: Acl, actor: &str) -> Self {
        Self {
            text: text.to_owned(),
            retrieval_query: text.to_owned(),
            acl,
            actor: actor.to_owned(),
        }
    }
}

/// Events queued between the answer task and a slow reader.
const STREAM_BUFFER: usize = 64;

impl Engine {
    /// Starts answering `question` and returns its events.
    pub fn answer_stream(&self, question: Question) -> mpsc::Receiver<StreamEvent> {
        let (output, receiver) = mpsc::channel(STREAM_BUFFER);
        let (progress, mut progress_receiver) = mpsc::unbounded_channel();
        let forward_output = output.clone();
        let forward = tokio::spawn(async move {
            while let Some(event) = progress_receiver.recv().await {
                if forward_output.send(StreamEvent::Progress(event)).await.is_err() {
                    break;
                }
            }
        });
        let engine = self.clone();
        tokio::spawn(async move {
            let result = engine
                .ask_with_query(
                    &question.text,
                    &question.retrieval_query,
                    &question.acl,
                    &question.actor,
                    Some(progress),
                )
                .await;
            let _ = forward.await;
            let last = match result {
                Ok(answer) => StreamEvent::Done(Box::new(answer)),
                Err(error) if error.is_user_error() => StreamEvent::Failed(error.to_string()),
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "answering failed");
                    StreamEvent::Failed("answering failed; see the server log".to_owned())
                }
            };
            let _ = output.send(last).await;
        });
        receiver
    }
}
