//! A generator on an OpenAI-compatible inference server on the private network (vLLM, the
//! llama.cpp server, TGI): for sites with a GPU box. Plain HTTP with streaming
//! `/v1/chat/completions`; the server is expected inside the customer's network.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::generator::{GenerationEvent, GenerationRequest, GenerationStats, Generator, Role};
use crate::{Error, Result};

/// Where the server is and which model to ask for.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Base URL, for example `http://10.0.0.5:8000` (the path `/v1/chat/completions` is appended).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
}

/// Streams completions from an OpenAI-compatible server.
pub struct RemoteGenerator {
    config: RemoteConfig,
    agent: ureq::Agent,
    model_id: String,
}

impl std::fmt::Debug for RemoteGenerator {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RemoteGenerator")
            .field("model_id", &self.model_id)
            .finish()
    }
}

impl RemoteGenerator {
    pub fn new(config: RemoteConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .build()
            .into();
        let model_id = format!("{}@{}", config.model, config.base_url);
        Self {
            config,
            agent,
            model_id,
        }
    }
}

fn remote_error(error: impl std::fmt::Display) -> Error {
    Error::Remote(error.to_string())
}

impl Generator for RemoteGenerator {
    fn generate(
        &self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(GenerationEvent<'_>) -> bool,
    ) -> Result<GenerationStats> {
        if !on_event(GenerationEvent::Started) {
            return Err(Error::Cancelled);
        }
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|message| {
                let role = match message.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({ "role": role, "content": message.content })
            })
            .collect();
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": 0,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if !request.stop.is_empty() {
            body["stop"] = json!(request.stop);
        }
        let url = format!("{}/v1/chat/completions", self.config.base_url.trim_end_matches('/'));
        let started = Instant::now();
        let mut call = self.agent.post(&url).header("Accept", "text/event-stream");
        if let Some(key) = &self.config.api_key {
            call = call.header("Authorization", &format!("Bearer {key}"));
        }
        let response = call.send_json(&body).map_err(remote_error)?;
        let status = response.status();
        if status != 200 {
            let detail = response.into_body().read_to_string().unwrap_or_default();
            return Err(Error::Remote(format!(
                "{url} answered {status}: {}",
                detail.chars().take(300).collect::<String>()
            )));
        }
        let mut stats = GenerationStats::default();
        let mut first_piece: Option<Instant> = None;
        let reader = BufReader::new(response.into_body().into_reader());
        for line in reader.lines() {
            let line = line.map_err(remote_error)?;
            let Some(data) = line.strip_prefix("data:").map(str::trim) else {
                continue;
            };
            if data == "[DONE]" {
                break;
            }
            let chunk: Value = serde_json::from_str(data).map_err(remote_error)?;
            if let Some(usage) = chunk.get("usage").filter(|usage| usage.is_object()) {
                stats.prompt_tokens = usage["prompt_tokens"].as_u64().unwrap_or_default() as usize;
                stats.generated_tokens = usage["completion_tokens"].as_u64().unwrap_or_default() as usize;
            }
            let choice = &chunk["choices"][0];
            if let Some(piece) = choice["delta"]["content"].as_str().filter(|piece| !piece.is_empty()) {
                first_piece.get_or_insert_with(Instant::now);
                stats.generated_tokens += usize::from(chunk.get("usage").is_none_or(Value::is_null));
                if !on_event(GenerationEvent::Text(piece)) {
                    return Err(Error::Cancelled);
                }
            }
            // vLLM names the matched stop string; servers that do not are treated as a plain end.
            if choice["finish_reason"].as_str() == Some("stop") {
                stats.hit_stop_string |= choice["stop_reason"].is_string();
            }
        }
        let first = first_piece.unwrap_or_else(Instant::now);
        stats.prefill_seconds = first.duration_since(started).as_secs_f64();
        stats.decode_seconds = first.elapsed().as_secs_f64();
        Ok(stats)
    }

    /// Remote vocabularies are unknown here: about three characters per token.
    fn count_tokens(&self, text: &str) -> usize {
        text.chars().count().div_ceil(3)
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::generator::ChatMessage;

    /// A one-request stand-in for an OpenAI-compatible server that streams a fixed answer.
    fn serve_once(chunks: &'static [&'static str]) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let read = stream.read(&mut buffer).unwrap();
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request);
                if let Some(header_end) = text.find("\r\n\r\n") {
                    let length: usize = text
                        .lines()
                        .find_map(|line| {
                            line.to_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|value| value.parse().ok())
                        .unwrap_or(0);
                    if request.len() >= header_end + 4 + length {
                        break;
                    }
                }
            }
            let mut body = String::new();
            for chunk in chunks {
                body.push_str(&format!("data: {chunk}\n\n"));
            }
            body.push_str("data: [DONE]\n\n");
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        (format!("http://{address}"), handle)
    }

    #[test]
    fn streams_pieces_and_sends_the_chat_request() {
        let (url, server) = serve_once(&[
            r#"{"choices":[{"delta":{"role":"assistant"}}]}"#,
            r#"{"choices":[{"delta":{"content":"The password "}}]}"#,
            r#"{"choices":[{"delta":{"content":"is BlueHarbor42 [1]."},"finish_reason":"stop"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":120,"completion_tokens":9}}"#,
        ]);
        let generator = RemoteGenerator::new(RemoteConfig {
            base_url: url,
            model: "qwen2.5-7b-instruct".into(),
            api_key: Some("secret".into()),
            timeout: Duration::from_secs(10),
        });
        let request = GenerationRequest {
            messages: vec![ChatMessage {
                role: Role::User,
                content: "What is the password?".into(),
            }],
            max_tokens: 32,
            stop: vec!["NOT_FOUND".into()],
            ..Default::default()
        };
        let mut pieces = Vec::new();
        let stats = generator
            .generate(&request, &mut |event| {
                if let GenerationEvent::Text(piece) = event {
                    pieces.push(piece.to_owned());
                }
                true
            })
            .unwrap();
        assert_eq!(pieces.concat(), "The password is BlueHarbor42 [1].");
        assert_eq!((stats.prompt_tokens, stats.generated_tokens), (120, 9));
        let sent = server.join().unwrap();
        assert!(sent.starts_with("POST /v1/chat/completions"), "{sent}");
        assert!(sent.contains("Bearer secret"));
        let body: Value = serde_json::from_str(sent.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["stream"], true);
        assert_eq!(body["messages"][0]["content"], "What is the password?");
        assert_eq!(body["stop"][0], "NOT_FOUND");
    }
}
