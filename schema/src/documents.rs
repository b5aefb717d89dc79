//! Parsed documents, remembered by their text. Apps send the same few query texts over
//! and over, and async-graphql's parser was a tenth of an executed request's CPU (an
//! authenticated `{ __typename }`); a copy of the parsed document costs a fraction of a
//! parse. The limits' extension parses through it (no extension after that one parses),
//! so the others still see every document; it is not an extension of its own because
//! async-graphql passes every field's resolution through every extension. A text that
//! does not parse is never remembered, and a request that comes parsed already
//! (persisted queries) has no text and is left alone.
//!
//! The HTTP front door asks a document's operation type before executing it (a mutation
//! is refused over GET, a query may be cached) and reads the remembered document too: its
//! own parse of every mutation was 4% of the server's CPU while 1,000 payments a second
//! were recorded. It never remembers a document itself: the schema's parse checks a
//! document's nesting before it is kept.

use std::{
    num::NonZeroUsize,
    sync::{Mutex, MutexGuard, PoisonError},
};

use async_graphql::{
    ServerResult,
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};
use lru::LruCache;

/// Documents remembered at most: far more than the texts an app sends.
const DOCUMENTS: usize = 256;
/// Longer texts are parsed every time: with `DOCUMENTS` this bounds the memory (a parsed
/// document takes several times its text), and pages' queries are a few KiB.
const MAX_TEXT_BYTES: usize = 8 * 1024;

/// One for the schema (`FrontDoor::documents`); every request shares it.
pub struct ParsedDocuments {
    documents: Mutex<LruCache<Box<str>, ExecutableDocument>>,
}

impl ParsedDocuments {
    pub fn new() -> Self {
        let capacity = NonZeroUsize::new(DOCUMENTS).unwrap_or(NonZeroUsize::MIN);
        Self {
            documents: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The document of `query`: from memory when the text was parsed before, else what
    /// `parse` (the parse it stands in for, not started until needed) returns.
    pub(crate) async fn parse(
        &self,
        query: &str,
        parse: impl Future<Output = ServerResult<ExecutableDocument>>,
    ) -> ServerResult<ExecutableDocument> {
        // No text: the document came parsed (a persisted query, by its hash).
        if query.is_empty() || query.len() > MAX_TEXT_BYTES {
            return parse.await;
        }
        let known = self.documents().get(query).cloned();
        if let Some(document) = known {
            return Ok(document);
        }
        let document = parse.await?;
        self.documents().put(query.into(), document.clone());
        Ok(document)
    }

    /// The type of the operation `query` runs (the one named `operation_name` when it
    /// holds several), `None` when it does not parse or names no single operation. Reads
    /// the remembered document; a text not remembered is parsed and not kept.
    pub fn operation_type(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Option<OperationType> {
        if let Some(document) = self.documents().get(query) {
            return selected_type(document, operation_name);
        }
        let document = async_graphql::parser::parse_query(query).ok()?;
        selected_type(&document, operation_name)
    }

    fn documents(&self) -> MutexGuard<'_, LruCache<Box<str>, ExecutableDocument>> {
        self.documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        Self::new()
    }
}

/// The type of the operation a request runs: the one named, or the document's only one.
pub(crate) fn selected_type(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation.node.ty),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, operation)| operation.node.ty),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .values()
            .next()
            .map(|operation| operation.node.ty),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn answer(&self) -> i32 {
            42
        }
    }

    #[tokio::test]
    async fn texts_are_parsed_once_documents_sent_parsed_stay_theirs_and_errors_are_not_kept() {
        let shared = Arc::new(ParsedDocuments::new());
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(crate::limits::QueryLimits {
                limits: crate::Limits::default(),
                documents: shared.clone(),
            })
            .finish();

        let first = schema.execute("{ answer }").await;
        assert!(shared.documents().contains("{ answer }"));
        let again = schema.execute("{ answer }").await;
        assert_eq!(first.data, again.data);
        assert_eq!(again.data.to_string(), "{answer: 42}");

        // A document that parses but is invalid is remembered, and validated each time.
        assert_eq!(schema.execute("{ answer(x: 1) }").await.errors.len(), 1);
        assert!(shared.documents().contains("{ answer(x: 1) }"));
        let refused = schema.execute("{ answer(x: 1) }").await;
        assert_eq!(refused.errors.len(), 1, "{:?}", refused.errors);

        // Requests parsed already (as persisted queries arrive) have no text and keep
        // their own documents.
        for alias in ["a", "b"] {
            let mut parsed = async_graphql::Request::new("");
            let text = format!("{{ {alias}: answer }}");
            parsed.set_parsed_query(async_graphql::parser::parse_query(&text).unwrap());
            let answer = schema.execute(parsed).await;
            assert_eq!(answer.data.to_string(), format!("{{{alias}: 42}}"));
        }

        let broken = schema.execute("{ answer").await;
        assert_eq!(broken.errors.len(), 1);
        assert!(!shared.documents().contains("{ answer"));

        let long = format!("{{ answer {} }}", " ".repeat(MAX_TEXT_BYTES));
        assert!(schema.execute(long.as_str()).await.errors.is_empty());
        assert!(!shared.documents().contains(long.as_str()));
    }

    #[tokio::test]
    async fn operation_types_come_from_remembered_documents_and_asking_keeps_nothing() {
        let documents = ParsedDocuments::new();
        let text = "query A { answer } mutation B { answer }";
        assert_eq!(
            documents.operation_type(text, Some("B")),
            Some(OperationType::Mutation)
        );
        assert_eq!(documents.operation_type(text, None), None);
        assert_eq!(documents.operation_type("{ answer", None), None);
        assert!(!documents.documents().contains(text));

        // A document the schema's parse remembered answers without a parse: one altered
        // in memory shows it.
        let mut remembered = async_graphql::parser::parse_query("subscription { answer }").unwrap();
        let DocumentOperations::Single(operation) = &mut remembered.operations else {
            unreachable!("one operation");
        };
        operation.node.ty = OperationType::Mutation;
        documents
            .documents()
            .put("subscription { answer }".into(), remembered);
        assert_eq!(
            documents.operation_type("subscription { answer }", None),
            Some(OperationType::Mutation)
        );
        assert_eq!(
            documents.operation_type("subscription { other }", None),
            Some(OperationType::Subscription)
        );
    }
}
