// docs/catalog.md here is a symlink to the repository's docs/catalog.md.
#![doc = include_str!("../docs/catalog.md")]

mod catalog_doc;
pub mod contextd;
mod cost;
pub mod seeds;

pub use catalog_doc::{catalog_markdown, example_promql};
pub use cost::{PriceError, PriceTable};
