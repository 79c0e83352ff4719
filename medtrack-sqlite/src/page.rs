//! Keyset pagination: a page asks for one row more than its limit, to know whether another
//! page follows, and the cursor names the last row returned.

use medtrack_core::store::{Page, PageRequest};

/// The `LIMIT` to query with: the page's limit (0 treated as 1) plus one.
pub(crate) fn limit_plus_one(page: &PageRequest) -> i64 {
    i64::from(page.limit.max(1)) + 1
}

/// Cuts `items` to the page's limit and sets the cursor from the last item kept when more
/// followed.
pub(crate) fn split_page<T>(
    mut items: Vec<T>,
    page: &PageRequest,
    cursor_of: impl Fn(&T) -> String,
) -> Page<T> {
    let limit = page.limit.max(1) as usize;
    if items.len() <= limit {
        return Page {
            items,
            next_cursor: None,
        };
    }

    items.truncate(limit);
    let next_cursor = items.last().map(cursor_of);
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_with_more_behind_it_has_a_cursor() {
        let page = PageRequest::first(2);
        let cut = split_page(vec![1, 2, 3], &page, |n| n.to_string());
        assert_eq!(cut.items, vec![1, 2]);
        assert_eq!(cut.next_cursor.as_deref(), Some("2"));
    }

    #[test]
    fn the_last_page_has_no_cursor_and_zero_means_one() {
        let cut = split_page(vec![1, 2], &PageRequest::first(2), |n| n.to_string());
        assert_eq!(cut.next_cursor, None);
        assert_eq!(limit_plus_one(&PageRequest::first(0)), 2);
    }
}
