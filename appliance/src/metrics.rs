//! Prometheus metrics (`GET /metrics`, text format 0.0.4): what an operator watches on a
//! node. Counters and histograms live in one process-wide registry of atomics, written where
//! the work happens (the HTTP layer, searches, answers, ingest jobs); sizes (documents,
//! chunks, vectors, audit rows) are read when scraped. No label carries user input: routes
//! are the router's patterns, never the requested path.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// A cumulative latency histogram.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds (atomics hold integers).
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let join = |extra: &str| match (labels.is_empty(), extra.is_empty()) {
            (true, _) => format!("{{{extra}}}"),
            (false, true) => format!("{{{labels}}}"),
            (false, false) => format!("{{{labels},{extra}}}"),
        };
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{} {}",
                join(&format!("le=\"{bound}\"")),
                count.load(Ordering::Relaxed)
            );
        }
        let total = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{} {total}", join("le=\"+Inf\""));
        let plain = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{plain} {sum}");
        let _ = writeln!(out, "{name}_count{plain} {total}");
    }
}

/// Every metric this process keeps.
#[derive(Default)]
pub struct Metrics {
    /// (route, status class) → requests, and route → latency.
    requests: Mutex<BTreeMap<(String, String), u64>>,
    request_seconds: Mutex<BTreeMap<String, &'static Histogram>>,
    pub search_seconds: Histogram,
    pub answer_seconds: Histogram,
    pub first_token_seconds: Histogram,
    pub generator_queue_seconds: Histogram,
    pub generated_tokens: AtomicU64,
    /// Seconds spent decoding, in microseconds (tokens per second = tokens / this).
    pub decode_micros: AtomicU64,
    pub refusals: AtomicU64,
    pub extracts: AtomicU64,
    pub generator_waiting: AtomicU64,
    pub ingested_documents: AtomicU64,
    pub ingested_pages: AtomicU64,
    pub ingest_failures: AtomicU64,
    /// Time spent ingesting, in microseconds (pages per second = pages / this).
    pub ingest_micros: AtomicU64,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

impl Metrics {
    /// Counts one HTTP request to `route` (the router's pattern) that took `seconds`.
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        *self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry((route.to_owned(), class))
            .or_default() += 1;
        let histogram = *self
            .request_seconds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(route.to_owned())
            .or_insert_with(|| Box::leak(Box::default()));
        histogram.observe(seconds);
    }

    /// Records one finished answer.
    pub fn answer(&self, answer: &crate::engine::Answer) {
        self.answer_seconds.observe(answer.seconds);
        if answer.generated_tokens > 0 {
            self.first_token_seconds.observe(answer.seconds_to_first_token);
            self.generated_tokens
                .fetch_add(answer.generated_tokens as u64, Ordering::Relaxed);
            if answer.decode_tokens_per_second > 0.0 {
                let seconds = answer.generated_tokens as f64 / answer.decode_tokens_per_second;
                self.decode_micros.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
            }
        }
        if answer.refused {
            self.refusals.fetch_add(1, Ordering::Relaxed);
        }
        if answer.extractive {
            self.extracts.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The text exposition, with the sizes read at scrape time.
    pub fn render(&self, sizes: &Sizes) -> String {
        let mut out = String::new();
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut out,
            "appliance_http_requests_total",
            "counter",
            "HTTP requests by route and status class.",
        );
        for ((route, class), count) in self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "appliance_http_requests_total{{route=\"{route}\",status=\"{class}\"}} {count}"
            );
        }
        family(
            &mut out,
            "appliance_http_request_duration_seconds",
            "histogram",
            "HTTP request latency by route.",
        );
        for (route, histogram) in self
            .request_seconds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
        {
            histogram.render(
                &mut out,
                "appliance_http_request_duration_seconds",
                &format!("route=\"{route}\""),
            );
        }
        for (name, help, histogram) in [
            (
                "appliance_search_duration_seconds",
                "Search latency, query embedding included.",
                &self.search_seconds,
            ),
            (
                "appliance_answer_duration_seconds",
                "Time to a whole checked answer.",
                &self.answer_seconds,
            ),
            (
                "appliance_time_to_first_token_seconds",
                "Time to the first generated token.",
                &self.first_token_seconds,
            ),
            (
                "appliance_generator_queue_wait_seconds",
                "Time questions waited for the generator.",
                &self.generator_queue_seconds,
            ),
        ] {
            family(&mut out, name, "histogram", help);
            histogram.render(&mut out, name, "");
        }
        let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
        let counters = [
            (
                "appliance_generated_tokens_total",
                "Tokens generated.",
                load(&self.generated_tokens) as f64,
            ),
            (
                "appliance_decode_seconds_total",
                "Seconds spent decoding (tokens per second = tokens / this).",
                load(&self.decode_micros) as f64 / 1e6,
            ),
            (
                "appliance_refusals_total",
                "Questions answered with \"not found\".",
                load(&self.refusals) as f64,
            ),
            (
                "appliance_extracts_total",
                "Questions answered with a quoted extract.",
                load(&self.extracts) as f64,
            ),
            (
                "appliance_ingested_documents_total",
                "Files ingested (indexed or updated).",
                load(&self.ingested_documents) as f64,
            ),
            (
                "appliance_ingested_pages_total",
                "Pages ingested.",
                load(&self.ingested_pages) as f64,
            ),
            (
                "appliance_ingest_failures_total",
                "Files whose ingest failed.",
                load(&self.ingest_failures) as f64,
            ),
            (
                "appliance_ingest_seconds_total",
                "Seconds spent ingesting (pages per second = pages / this).",
                load(&self.ingest_micros) as f64 / 1e6,
            ),
        ];
        let gauges = [
            (
                "appliance_generator_waiting",
                "Questions waiting for the generator now.",
                load(&self.generator_waiting) as f64,
            ),
            (
                "appliance_documents",
                "Documents in the knowledge base.",
                sizes.documents as f64,
            ),
            ("appliance_chunks", "Chunks in the keyword index.", sizes.chunks as f64),
            (
                "appliance_vectors",
                "Vectors in the vector store.",
                sizes.vectors as f64,
            ),
            (
                "appliance_audit_rows",
                "Rows in the audit chain.",
                sizes.audit_rows as f64,
            ),
        ];
        let samples = counters.iter().map(|sample| ("counter", sample));
        for (kind, (name, help, value)) in samples.chain(gauges.iter().map(|sample| ("gauge", sample))) {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

/// One question waiting for the generator, counted in `generator_waiting` until it starts
/// or is dropped (cancelled, answered by extract after the wait limit).
pub struct Waiting {
    metrics: &'static Metrics,
    counted: std::sync::atomic::AtomicBool,
}

impl Waiting {
    pub fn start(metrics: &'static Metrics) -> Self {
        metrics.generator_waiting.fetch_add(1, Ordering::Relaxed);
        Self {
            metrics,
            counted: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Generation started: no longer waiting.
    pub fn done(&self) {
        if self.counted.swap(false, Ordering::Relaxed) {
            self.metrics.generator_waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.done();
    }
}

/// Sizes read when scraped.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sizes {
    pub documents: i64,
    pub chunks: u64,
    pub vectors: u64,
    pub audit_rows: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_the_text_parses() {
        let metrics = Metrics::default();
        metrics.search_seconds.observe(0.03);
        metrics.search_seconds.observe(0.3);
        metrics.request("/api/search", 200, 0.04);
        metrics.request("/api/search", 503, 0.01);
        let text = metrics.render(&Sizes {
            documents: 2,
            chunks: 7,
            vectors: 7,
            audit_rows: 11,
        });
        assert!(
            text.contains("appliance_search_duration_seconds_bucket{le=\"0.05\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("appliance_search_duration_seconds_bucket{le=\"0.5\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("appliance_search_duration_seconds_count 2\n"), "{text}");
        assert!(
            text.contains("appliance_http_requests_total{route=\"/api/search\",status=\"5xx\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("appliance_http_request_duration_seconds_bucket{route=\"/api/search\",le=\"0.05\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("appliance_audit_rows 11\n"), "{text}");
        // Every sample line is `name{labels} value` with a number.
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
