//! The pagination check the listing scenarios share: at least three pages of at most
//! the size asked for, no record twice, every created record present.

use std::collections::HashSet;
use std::future::Future;

use idbridge_core::{Page, PageRequest, Result, collect_pages};

use super::{Outcome, Verdict, ensure};

/// Lists through `list` two records a page, failing when a page holds more than asked,
/// and checks the listing with [`check_pages`]; `id` gives each listed record's id.
pub(super) async fn check_paged_listing<T, F, Fut>(
    created: &HashSet<String>,
    mut list: F,
    id: impl Fn(&T) -> String,
) -> Outcome
where
    F: FnMut(PageRequest) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>>> + Send,
    T: Send,
{
    let size = 2;
    let mut pages = 0usize;
    let items = collect_pages(|mut req: PageRequest| {
        req.size = Some(size);
        pages += 1;
        let page_no = pages;
        let fetch = list(req);
        async move {
            let page = fetch.await?;
            if page.items.len() > size {
                return Err(idbridge_core::Error::protocol(format!(
                    "page {page_no} has {} items, asked for at most {size}",
                    page.items.len()
                )));
            }
            Ok(page)
        }
    })
    .await?;
    let ids: Vec<String> = items.iter().map(id).collect();
    check_pages(pages, &ids, created)
}

/// Checks a paged listing: at least three pages, no id twice, every created id present.
fn check_pages(pages: usize, ids: &[String], created: &HashSet<String>) -> Outcome {
    ensure!(
        pages >= 3,
        "only {pages} pages for at least 7 records of size 2"
    );
    let mut seen = HashSet::new();
    for id in ids {
        ensure!(seen.insert(id), "{id} listed twice across pages");
    }
    for id in created {
        ensure!(seen.contains(id), "{id} missing from the paged listing");
    }
    Ok(Verdict::Passed)
}
