//! Embedding cost: tokens → USD with a configurable per-model price table.

use std::collections::HashMap;

/// Error returned by [`PriceTable::set_price`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid price for model `{model}`: {price} USD per 1M tokens (must be finite and >= 0)")]
pub struct PriceError {
    /// The model.
    pub model: String,
    /// The rejected price.
    pub price: f64,
}

/// USD prices per one million tokens, by model name.
///
/// ```
/// use ferrotel_catalog::PriceTable;
///
/// let prices = PriceTable::openai_defaults();
/// let usd = prices.cost_usd("text-embedding-3-small", 500_000).unwrap();
/// assert!((usd - 0.01).abs() < 1e-12);
/// assert_eq!(prices.cost_usd("unknown-model", 10), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    usd_per_million: HashMap<String, f64>,
}

impl PriceTable {
    /// An empty table: every model is unpriced.
    pub fn new() -> Self {
        Self::default()
    }

    /// OpenAI embedding list prices (USD per 1M tokens): `text-embedding-3-small` 0.02 (the
    /// seeds' figure), `text-embedding-3-large` 0.13, `text-embedding-ada-002` 0.10.
    /// Override or extend with [`set_price`](Self::set_price).
    pub fn openai_defaults() -> Self {
        let mut t = Self::new();
        for (model, price) in [
            ("text-embedding-3-small", 0.02),
            ("text-embedding-3-large", 0.13),
            ("text-embedding-ada-002", 0.10),
        ] {
            t.usd_per_million.insert(model.to_owned(), price);
        }
        t
    }

    /// Sets the price of `model` in USD per one million tokens (0 for self-hosted models).
    pub fn set_price(
        &mut self,
        model: impl Into<String>,
        usd_per_million_tokens: f64,
    ) -> Result<&mut Self, PriceError> {
        let model = model.into();
        if !usd_per_million_tokens.is_finite() || usd_per_million_tokens < 0.0 {
            return Err(PriceError {
                model,
                price: usd_per_million_tokens,
            });
        }
        self.usd_per_million.insert(model, usd_per_million_tokens);
        Ok(self)
    }

    /// The price of `model` in USD per one million tokens, if known.
    pub fn price(&self, model: &str) -> Option<f64> {
        self.usd_per_million.get(model).copied()
    }

    /// `tokens / 1e6 * price`, or `None` for an unpriced model (record no cost rather than a
    /// wrong one).
    pub fn cost_usd(&self, model: &str, tokens: u64) -> Option<f64> {
        self.price(model).map(|p| tokens as f64 / 1_000_000.0 * p)
    }
}
