//! The simulated contextd service: an in-memory store of checkpoints, remediations and skills,
//! a simulated embedding provider (OpenAI and TEI, with token counts and cost) and a simulated
//! vector database (with occasional errors), instrumented the way the seeds describe: every
//! operation records its `contextd_*` metrics through [`ContextdMeters`] and runs inside a
//! span carrying the seeds' attributes (`checkpoint_id`, `project_path`, `top_k`).
//!
//! The "embeddings" are deterministic hashed bag-of-words vectors and search is a real cosine
//! similarity over the stored items, so search scores are computed, not drawn at random.
//! Latencies and error injection are random.
//!
//! Integer span fields are recorded as `i64`, the OpenTelemetry integer type (the span layer
//! exports a `u64` that fits as an integer too, but `tracing-opentelemetry`, the compatibility
//! layer, would export it as a string).

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ferrotel::redaction::Redactor;
use ferrotel_catalog::PriceTable;
use ferrotel_catalog::contextd::{
    CheckpointOp, Collection, ContextdMeters, DbErrorType, DbOp, Provider, RemediationOp, SkillOp,
    Tool,
};
use rand::Rng as _;
use serde::Serialize;
use serde_json::{Value, json};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::secrets::Secrets;

/// The OpenAI embedding model (priced at 0.02 USD per 1M tokens, the seeds' figure).
pub const OPENAI_MODEL: &str = "text-embedding-3-small";
/// The self-hosted TEI model (price 0).
pub const TEI_MODEL: &str = "BAAI/bge-small-en-v1.5";
/// Items kept per collection; older ones are deleted (bounded memory in long runs).
pub const MAX_ITEMS: usize = 5_000;
/// Skills kept (one `contextd_skill_success_rate` series each).
pub const MAX_SKILLS: usize = 40;
/// Probability that a vector-database operation fails.
pub const DB_ERROR_RATE: f64 = 0.03;
const DIMS: usize = 32;

/// Why an operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceError {
    /// The vector database failed.
    Database(DbErrorType),
    /// Unknown skill.
    NoSuchSkill,
}

impl ServiceError {
    /// A short machine-readable name (`error.type`).
    pub fn kind(self) -> &'static str {
        match self {
            ServiceError::Database(t) => t.as_str(),
            ServiceError::NoSuchSkill => "not_found",
        }
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceError::Database(t) => write!(f, "vector database error: {}", t.as_str()),
            ServiceError::NoSuchSkill => f.write_str("no such skill"),
        }
    }
}

#[derive(Debug, Clone)]
struct Item {
    id: String,
    text: String,
    vector: [f32; DIMS],
}

#[derive(Debug, Clone)]
struct Skill {
    id: String,
    name: String,
    applied: u64,
    succeeded: u64,
}

#[derive(Debug, Default)]
struct Store {
    checkpoints: VecDeque<Item>,
    remediations: VecDeque<Item>,
    documents: VecDeque<Item>,
    skills: Vec<Skill>,
    next_id: u64,
}

/// Totals the demo counts itself, to compare with what arrives at a collector.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    /// MCP tool calls (sum of `contextd_mcp_tool_calls_total`).
    pub mcp_tool_calls: AtomicU64,
    /// Of which failed.
    pub mcp_tool_errors: AtomicU64,
    /// Embedding calls (sum of `contextd_embedding_operations_total`).
    pub embedding_calls: AtomicU64,
    /// Tokens embedded (sum of `contextd_embedding_tokens_total`).
    pub embedding_tokens: AtomicU64,
    /// Vector-database operations (sum of `contextd_database_operations_total`).
    pub database_operations: AtomicU64,
    /// Vector-database errors (sum of `contextd_database_errors_total`).
    pub database_errors: AtomicU64,
    /// Skill operations (sum of `contextd_skill_operations_total`).
    pub skill_operations: AtomicU64,
    /// Texts that held a secret or a home path, redacted before the embedding provider saw them.
    pub embedding_texts_redacted: AtomicU64,
}

/// How many request texts the simulated provider keeps, like a provider's request log.
const PROVIDER_LOG_LEN: usize = 256;

/// The simulated embedding provider: computes the vectors and keeps the last texts it was sent,
/// as the real provider's request log would (what left the process).
#[derive(Debug, Default)]
pub struct EmbeddingProvider {
    received: Mutex<VecDeque<String>>,
}

impl EmbeddingProvider {
    fn embed(&self, texts: &[Cow<'_, str>]) -> Vec<[f32; DIMS]> {
        let mut log = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        for text in texts {
            if log.len() == PROVIDER_LOG_LEN {
                log.pop_front();
            }
            log.push_back(text.to_string());
        }
        texts.iter().map(|t| vector(t)).collect()
    }

    /// The last texts the provider was sent, oldest first.
    pub fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// The service.
#[derive(Debug)]
pub struct Service {
    meters: ContextdMeters,
    prices: PriceTable,
    store: Mutex<Store>,
    secrets: Secrets,
    /// Seed 000: text is redacted before it goes to the embedding provider, with the same rules
    /// as the telemetry (API keys, tokens, passwords, home paths).
    redactor: Redactor,
    provider: EmbeddingProvider,
    project_path: String,
    project_db: String,
    /// Self-counted totals.
    pub totals: Totals,
}

fn vector(text: &str) -> [f32; DIMS] {
    let mut v = [0f32; DIMS];
    for word in text.split_whitespace() {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in word.to_ascii_lowercase().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        v[(h % DIMS as u64) as usize] += 1.0;
        v[((h >> 32) % DIMS as u64) as usize] += 0.5;
    }
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    v.map(|x| x / norm)
}

/// Cosine similarity of unit vectors mapped to 0..1.
fn similarity(a: &[f32; DIMS], b: &[f32; DIMS]) -> f64 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    f64::from(dot.clamp(-1.0, 1.0) + 1.0) / 2.0
}

/// Word-set (Jaccard) similarity, the "string" half of the hybrid remediation score.
fn string_similarity(a: &str, b: &str) -> f64 {
    let wa: std::collections::HashSet<&str> = a.split_whitespace().collect();
    let wb: std::collections::HashSet<&str> = b.split_whitespace().collect();
    let union = wa.union(&wb).count();
    if union == 0 {
        return 0.0;
    }
    wa.intersection(&wb).count() as f64 / union as f64
}

fn tokens(text: &str) -> u64 {
    // ~4/3 tokens per word, the usual rule of thumb for English with BPE tokenizers.
    (text.split_whitespace().count() as u64 * 4)
        .div_ceil(3)
        .max(1)
}

async fn latency(min_ms: u64, max_ms: u64) {
    let ms = rand::rng().random_range(min_ms..=max_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn short_hash(text: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

impl Service {
    /// A service recording into `meters`, with an empty store.
    pub fn new(meters: ContextdMeters, secrets: Secrets, redactor: Redactor) -> Arc<Self> {
        let mut prices = PriceTable::openai_defaults();
        // Self-hosted: free, but still reported (cost 0) so every model has a cost series.
        let _ = prices.set_price(TEI_MODEL, 0.0);
        let project_path = secrets.project_path();
        let project_db = format!("project_{}", short_hash(&project_path));
        Arc::new(Service {
            meters,
            prices,
            store: Mutex::new(Store::default()),
            secrets,
            redactor,
            provider: EmbeddingProvider::default(),
            project_path,
            project_db,
            totals: Totals::default(),
        })
    }

    /// The planted secrets.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The simulated embedding provider (what it was sent).
    pub fn embedding_provider(&self) -> &EmbeddingProvider {
        &self.provider
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the observable gauges backed by the in-memory store: totals per collection
    /// and the success rate of every stored skill.
    pub fn register_store_gauges(self: &Arc<Self>) {
        let s = Arc::clone(self);
        self.meters
            .checkpoints_total
            .register_value(move || s.store().checkpoints.len() as u64);
        let s = Arc::clone(self);
        self.meters
            .remediations_total
            .register_value(move || s.store().remediations.len() as u64);
        let s = Arc::clone(self);
        self.meters
            .skills_total
            .register_value(move || s.store().skills.len() as u64);
        let s = Arc::clone(self);
        self.meters.skill_success_rate.register(move |o| {
            for skill in &s.store().skills {
                if skill.applied > 0 {
                    o.observe(skill.succeeded as f64 / skill.applied as f64, &skill.id);
                }
            }
            Ok(())
        });
    }

    /// A start-up span whose logs carry the connection details (with planted secrets).
    pub async fn connect(&self) {
        let span = tracing::info_span!(
            "contextd.startup",
            project_path = %self.project_path,
            db.connection_string = %self.secrets.database_url(),
        );
        async {
            tracing::info!(
                database_url = %self.secrets.database_url(),
                "connecting to the vector database at {}",
                self.secrets.database_url()
            );
            tracing::info!(
                provider = "openai",
                model = OPENAI_MODEL,
                "embedding provider configured with api key {}",
                self.secrets.api_key
            );
            latency(1, 3).await;
        }
        .instrument(span)
        .await
    }

    /// One embedding call: records operations, duration, tokens and cost.
    async fn embed(&self, provider: Provider, texts: &[&str]) -> Vec<[f32; DIMS]> {
        let model = match provider {
            Provider::OpenAi => OPENAI_MODEL,
            Provider::Tei => TEI_MODEL,
        };
        let texts: Vec<Cow<'_, str>> = texts.iter().map(|t| self.redactor.redact(t)).collect();
        let redacted = texts.iter().filter(|t| matches!(t, Cow::Owned(_))).count();
        self.totals
            .embedding_texts_redacted
            .fetch_add(redacted as u64, Ordering::Relaxed);
        let n_tokens: u64 = texts.iter().map(|t| tokens(t)).sum();
        let span = tracing::info_span!(
            "embedding.generate",
            embedding.provider = provider.as_str(),
            embedding.model = model,
            embedding.tokens = i64::try_from(n_tokens).unwrap_or(i64::MAX),
            embedding.cost_usd = Empty,
            http.request.header.authorization = Empty,
            embedding.endpoint = Empty,
        );
        if provider == Provider::OpenAi {
            span.record(
                "http.request.header.authorization",
                self.secrets.authorization().as_str(),
            );
            span.record("embedding.endpoint", "https://api.openai.com/v1/embeddings");
        } else {
            span.record("embedding.endpoint", "http://127.0.0.1:8080/embed");
        }
        let start = Instant::now();
        async {
            match provider {
                Provider::OpenAi => latency(8, 30).await,
                Provider::Tei => latency(3, 12).await,
            }
            let calls = self.totals.embedding_calls.fetch_add(1, Ordering::Relaxed) + 1;
            // The first OpenAI call is always "slow", so even a short run plants the bearer token.
            static FIRST_OPENAI_CALL: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(true);
            let first =
                provider == Provider::OpenAi && FIRST_OPENAI_CALL.swap(false, Ordering::Relaxed);
            if provider == Provider::OpenAi && (first || calls.is_multiple_of(25)) {
                // A slow call, logged the way a careless client would: header and key included.
                tracing::warn!(
                    authorization = %self.secrets.authorization(),
                    "embedding request slow; retrying with header Authorization: {} (key {})",
                    self.secrets.authorization(),
                    self.secrets.api_key
                );
            }
        }
        .instrument(span.clone())
        .await;
        self.totals
            .embedding_tokens
            .fetch_add(n_tokens, Ordering::Relaxed);
        let cost =
            self.meters
                .record_embedding(provider, model, n_tokens, start.elapsed(), &self.prices);
        if let Some(usd) = cost {
            span.record("embedding.cost_usd", usd);
        }
        self.provider.embed(&texts)
    }

    /// One vector-database operation with random latency and occasional errors.
    async fn db<T>(
        &self,
        op: DbOp,
        database: &str,
        collection: Collection,
        work: impl FnOnce(&mut Store) -> T,
    ) -> Result<T, ServiceError> {
        let span = tracing::info_span!(
            "vectordb.operation",
            otel.name = format!("vectordb.{}", op.as_str()),
            db.system.name = "qdrant",
            db.operation.name = op.as_str(),
            db.namespace = database,
            db.collection.name = collection.as_str(),
            db.connection_string = %self.secrets.database_url(),
            error.type = Empty,
            otel.status_code = Empty,
        );
        let fut = async {
            latency(1, 6).await;
            let roll: f64 = rand::rng().random();
            if roll < DB_ERROR_RATE {
                let kinds = [
                    DbErrorType::ConnectionTimeout,
                    DbErrorType::QueryFailed,
                    DbErrorType::NotFound,
                    DbErrorType::PermissionDenied,
                ];
                let kind = kinds[rand::rng().random_range(0..kinds.len())];
                tracing::warn!(
                    error.type = kind.as_str(),
                    database,
                    collection = collection.as_str(),
                    "vector database {} failed: {}",
                    op.as_str(),
                    kind.as_str()
                );
                Err(ServiceError::Database(kind))
            } else {
                Ok(work(&mut self.store()))
            }
        };
        self.totals
            .database_operations
            .fetch_add(1, Ordering::Relaxed);
        let result = self
            .meters
            .database_op(
                op,
                database,
                collection,
                |e: &ServiceError| match e {
                    ServiceError::Database(t) => *t,
                    ServiceError::NoSuchSkill => DbErrorType::NotFound,
                },
                fut.instrument(span.clone()),
            )
            .await;
        if let Err(e) = &result {
            self.totals.database_errors.fetch_add(1, Ordering::Relaxed);
            span.record("error.type", e.kind());
            span.record("otel.status_code", "ERROR");
        }
        result
    }

    fn insert(list: &mut VecDeque<Item>, item: Item) -> Option<Item> {
        list.push_back(item);
        if list.len() > MAX_ITEMS {
            list.pop_front()
        } else {
            None
        }
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut s = self.store();
        s.next_id += 1;
        format!("{prefix}-{:06}", s.next_id)
    }

    /// Runs an MCP tool, recording `contextd_mcp_tool_*` around it, in an `mcp.tool_call`
    /// span.
    pub async fn call_tool(&self, tool: Tool, args: &Value) -> Result<Value, ServiceError> {
        let span = tracing::info_span!(
            "mcp.tool_call",
            tool_name = tool.as_str(),
            mcp.method.name = "tools/call",
            otel.status_code = Empty,
            error.type = Empty,
        );
        let text = args
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("fix flaky checkpoint search test")
            .to_owned();
        let top_k = args
            .get("top_k")
            .and_then(Value::as_u64)
            .unwrap_or(5)
            .min(50) as usize;
        let result = self
            .meters
            .tool_call_async(
                tool,
                self.dispatch(tool, &text, top_k).instrument(span.clone()),
            )
            .await;
        self.totals.mcp_tool_calls.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = &result {
            self.totals.mcp_tool_errors.fetch_add(1, Ordering::Relaxed);
            span.record("otel.status_code", "ERROR");
            span.record("error.type", e.kind());
            let _guard = span.enter();
            tracing::error!(tool_name = tool.as_str(), error = %e, "MCP tool call failed");
        }
        result
    }

    async fn dispatch(&self, tool: Tool, text: &str, top_k: usize) -> Result<Value, ServiceError> {
        match tool {
            Tool::CheckpointSave => self.checkpoint_save(text).await,
            Tool::CheckpointSearch => self.checkpoint_search(text, top_k).await,
            Tool::CheckpointList => self.checkpoint_list().await,
            Tool::RemediationSave => self.remediation_save(text).await,
            Tool::RemediationSearch => self.remediation_search(text, top_k).await,
            Tool::Troubleshoot => self.troubleshoot(text, top_k).await,
            Tool::ListPatterns => self.list_patterns().await,
            Tool::IndexRepository => self.index_repository().await,
            Tool::Status => Ok(self.status()),
        }
    }

    async fn checkpoint_save(&self, text: &str) -> Result<Value, ServiceError> {
        let id = self.next_id("ckpt");
        let span = tracing::info_span!(
            "checkpoint.save",
            checkpoint_id = %id,
            project_path = %self.project_path,
        );
        let fut = async {
            let v = self.embed(Provider::OpenAi, &[text]).await[0];
            let item = Item {
                id: id.clone(),
                text: text.to_owned(),
                vector: v,
            };
            let evicted = self
                .db(
                    DbOp::Insert,
                    &self.project_db,
                    Collection::Checkpoints,
                    |s| Self::insert(&mut s.checkpoints, item),
                )
                .await?;
            if evicted.is_some() {
                self.db(
                    DbOp::Delete,
                    &self.project_db,
                    Collection::Checkpoints,
                    |_| (),
                )
                .await?;
            }
            tracing::info!(checkpoint_id = %id, project_path = %self.project_path, "checkpoint saved");
            Ok(json!({ "checkpoint_id": id }))
        };
        self.meters
            .checkpoint_op(CheckpointOp::Create, fut.instrument(span))
            .await
    }

    fn search(list: &VecDeque<Item>, q: &[f32; DIMS], top_k: usize) -> Vec<(String, String, f64)> {
        let mut scored: Vec<(String, String, f64)> = list
            .iter()
            .map(|i| (i.id.clone(), i.text.clone(), similarity(&i.vector, q)))
            .collect();
        scored.sort_by(|a, b| b.2.total_cmp(&a.2));
        scored.truncate(top_k);
        scored
    }

    async fn checkpoint_search(&self, text: &str, top_k: usize) -> Result<Value, ServiceError> {
        let span = tracing::info_span!(
            "checkpoint.search",
            project_path = %self.project_path,
            top_k = top_k as i64,
            checkpoint_id = Empty,
            results = Empty,
        );
        let fut = async {
            let q = self.embed(Provider::OpenAi, &[text]).await[0];
            let hits = self
                .db(
                    DbOp::Search,
                    &self.project_db,
                    Collection::Checkpoints,
                    |s| Self::search(&s.checkpoints, &q, top_k),
                )
                .await?;
            for (_, _, score) in &hits {
                self.meters.checkpoint_search_score.record(*score, ());
            }
            let current = tracing::Span::current();
            current.record("results", hits.len() as i64);
            if let Some((id, _, _)) = hits.first() {
                current.record("checkpoint_id", id.as_str());
            }
            Ok(
                json!({ "results": hits.iter().map(|(id, _, s)| json!({"checkpoint_id": id, "score": s})).collect::<Vec<_>>() }),
            )
        };
        self.meters
            .checkpoint_op(CheckpointOp::Search, fut.instrument(span))
            .await
    }

    async fn checkpoint_list(&self) -> Result<Value, ServiceError> {
        let span = tracing::info_span!("checkpoint.list", project_path = %self.project_path);
        let fut = async {
            let ids = self
                .db(DbOp::Get, &self.project_db, Collection::Checkpoints, |s| {
                    s.checkpoints
                        .iter()
                        .rev()
                        .take(20)
                        .map(|i| i.id.clone())
                        .collect::<Vec<_>>()
                })
                .await?;
            Ok(json!({ "checkpoints": ids }))
        };
        self.meters
            .checkpoint_op(CheckpointOp::List, fut.instrument(span))
            .await
    }

    async fn remediation_save(&self, text: &str) -> Result<Value, ServiceError> {
        let id = self.next_id("rem");
        let span = tracing::info_span!("remediation.save", remediation_id = %id);
        let fut = async {
            let v = self.embed(Provider::OpenAi, &[text]).await[0];
            let item = Item {
                id: id.clone(),
                text: text.to_owned(),
                vector: v,
            };
            self.db(DbOp::Insert, "shared", Collection::Remediations, |s| {
                Self::insert(&mut s.remediations, item)
            })
            .await?;
            Ok(json!({ "remediation_id": id }))
        };
        self.meters
            .remediation_op(RemediationOp::Save, fut.instrument(span))
            .await
    }

    async fn remediation_search(&self, text: &str, top_k: usize) -> Result<Value, ServiceError> {
        let span = tracing::info_span!("remediation.search", top_k = top_k as i64);
        let fut = async {
            let q = self.embed(Provider::OpenAi, &[text]).await[0];
            let hits = self
                .db(DbOp::Search, "shared", Collection::Remediations, |s| {
                    Self::search(&s.remediations, &q, top_k)
                })
                .await?;
            let mut out = Vec::new();
            for (id, stored, semantic) in hits {
                let score = 0.7 * semantic + 0.3 * string_similarity(text, &stored);
                self.meters.remediation_match_score.record(score, ());
                out.push(json!({ "remediation_id": id, "score": score }));
            }
            Ok(json!({ "results": out }))
        };
        self.meters
            .remediation_op(RemediationOp::Search, fut.instrument(span))
            .await
    }

    async fn troubleshoot(&self, text: &str, top_k: usize) -> Result<Value, ServiceError> {
        let remediations = self.remediation_search(text, top_k).await?;
        let skills = self.skill_search(text).await?;
        Ok(json!({ "remediations": remediations, "skills": skills }))
    }

    async fn list_patterns(&self) -> Result<Value, ServiceError> {
        let patterns = self
            .db(DbOp::Get, "shared", Collection::Remediations, |s| {
                let mut counts: HashMap<String, u64> = HashMap::new();
                for r in &s.remediations {
                    let key = r
                        .text
                        .split_whitespace()
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ");
                    *counts.entry(key).or_default() += 1;
                }
                counts
            })
            .await?;
        Ok(json!({ "patterns": patterns }))
    }

    async fn index_repository(&self) -> Result<Value, ServiceError> {
        let span = tracing::info_span!(
            "repository.index",
            project_path = %self.project_path,
            chunks = Empty
        );
        async {
            let chunks = [
                "fn main() starts the MCP server",
                "checkpoint service saves and searches summaries",
                "remediation matching uses a hybrid score",
                "vector store wraps qdrant collections",
            ];
            tracing::Span::current().record("chunks", chunks.len() as i64);
            let vectors = self.embed(Provider::Tei, &chunks).await;
            let db = self.project_db.clone();
            self.db(DbOp::Insert, &db, Collection::Documents, |s| {
                for (text, v) in chunks.iter().zip(vectors) {
                    s.next_id += 1;
                    let item = Item {
                        id: format!("doc-{:06}", s.next_id),
                        text: (*text).to_owned(),
                        vector: v,
                    };
                    Self::insert(&mut s.documents, item);
                }
            })
            .await?;
            Ok(json!({ "indexed": chunks.len() }))
        }
        .instrument(span)
        .await
    }

    fn status(&self) -> Value {
        let s = self.store();
        json!({
            "checkpoints": s.checkpoints.len(),
            "remediations": s.remediations.len(),
            "documents": s.documents.len(),
            "skills": s.skills.len(),
        })
    }

    async fn skill_search(&self, text: &str) -> Result<Value, ServiceError> {
        let span = tracing::info_span!("skill.search");
        let fut = async {
            let names = self
                .db(DbOp::Search, "shared", Collection::Skills, |s| {
                    s.skills
                        .iter()
                        .filter(|k| text.split_whitespace().any(|w| k.name.contains(w)))
                        .map(|k| k.id.clone())
                        .take(5)
                        .collect::<Vec<_>>()
                })
                .await?;
            Ok(json!(names))
        };
        self.totals.skill_operations.fetch_add(1, Ordering::Relaxed);
        self.meters
            .skill_op(SkillOp::Search, fut.instrument(span))
            .await
    }

    /// Creates a skill (bounded: past [`MAX_SKILLS`] the oldest is deleted).
    pub async fn skill_create(&self, name: &str) -> Result<Value, ServiceError> {
        let id = self.next_id("skill");
        let span = tracing::info_span!("skill.create", skill_id = %id);
        let fut = async {
            let skill = Skill {
                id: id.clone(),
                name: name.to_owned(),
                applied: 0,
                succeeded: 0,
            };
            let evicted = self
                .db(DbOp::Insert, "shared", Collection::Skills, |s| {
                    s.skills.push(skill);
                    if s.skills.len() > MAX_SKILLS {
                        s.skills.remove(0);
                        true
                    } else {
                        false
                    }
                })
                .await?;
            if evicted {
                self.totals.skill_operations.fetch_add(1, Ordering::Relaxed);
                self.meters
                    .skill_op(
                        SkillOp::Delete,
                        self.db(DbOp::Delete, "shared", Collection::Skills, |_| ()),
                    )
                    .await?;
            }
            tracing::info!(skill_id = %id, "skill created");
            Ok(json!({ "skill_id": id }))
        };
        self.totals.skill_operations.fetch_add(1, Ordering::Relaxed);
        self.meters
            .skill_op(SkillOp::Create, fut.instrument(span))
            .await
    }

    /// Applies a skill; about 85% of applications succeed, which feeds its success rate.
    pub async fn skill_apply(&self, id: Option<&str>) -> Result<Value, ServiceError> {
        let id = match id {
            Some(id) => id.to_owned(),
            None => {
                let s = self.store();
                if s.skills.is_empty() {
                    return Err(ServiceError::NoSuchSkill);
                }
                let i = rand::rng().random_range(0..s.skills.len());
                s.skills[i].id.clone()
            }
        };
        let span = tracing::info_span!("skill.apply", skill_id = %id, success = Empty);
        let fut = async {
            latency(2, 10).await;
            let success = rand::rng().random_bool(0.85);
            tracing::Span::current().record("success", success);
            let found = self
                .db(DbOp::Update, "shared", Collection::Skills, |s| {
                    match s.skills.iter_mut().find(|k| k.id == id) {
                        Some(k) => {
                            k.applied += 1;
                            k.succeeded += u64::from(success);
                            true
                        }
                        None => false,
                    }
                })
                .await?;
            if !found {
                return Err(ServiceError::NoSuchSkill);
            }
            Ok(json!({ "skill_id": id, "success": success }))
        };
        self.totals.skill_operations.fetch_add(1, Ordering::Relaxed);
        self.meters
            .skill_op(SkillOp::Apply, fut.instrument(span))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_planted_secret_never_reaches_the_embedding_provider() {
        let meter = opentelemetry::global::meter("contextd-test");
        let secrets = Secrets::generate();
        let service = Service::new(
            ContextdMeters::new(&meter),
            secrets.clone(),
            Redactor::default(),
        );
        let note = format!(
            "deploy with OPENAI_API_KEY={} from {}/.env, header Authorization: Bearer {}",
            secrets.api_key,
            secrets.project_path(),
            secrets.bearer_token
        );
        // The simulated database fails now and then; the text is embedded before it is stored,
        // so the outcome of the insert does not matter here.
        let _ = service.checkpoint_save(&note).await;
        let _ = service.checkpoint_save("plain words only").await;

        let received = service.embedding_provider().received();
        assert_eq!(received.len(), 2, "{received:?}");
        for text in &received {
            assert!(
                !secrets.appears_in(text),
                "the provider saw a secret: {text}"
            );
        }
        assert!(received[0].contains("deploy with"), "{received:?}");
        assert_eq!(received[1], "plain words only");
        assert_eq!(
            service
                .totals
                .embedding_texts_redacted
                .load(Ordering::Relaxed),
            1
        );
    }
}
