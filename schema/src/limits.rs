//! Query limits beyond async-graphql's depth and complexity. A cheap pass over the text
//! refuses oversized, deeply bracketed, alias- or directive-stuffed documents *before*
//! the recursive parser sees them; the same counts are checked again on the parsed
//! document, which is all there is for a persisted query sent by hash.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{
    Request, Response, ServerError, ServerResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest,
    },
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
};

use crate::{
    documents::{ParsedDocuments, selected_type},
    throttle::RequestMeta,
};

/// Limits every query must stay within; defaults are what the README documents.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_directives: usize,
    /// Lexical tokens in the query text.
    pub max_tokens: usize,
    pub max_query_bytes: usize,
    /// Bracket nesting in the text, and selection-set nesting through fragments.
    pub max_recursive_depth: usize,
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 2_000,
            max_aliases: 100,
            max_directives: 50,
            max_tokens: 5_000,
            max_query_bytes: 64 * 1024,
            max_recursive_depth: 32,
            introspection: true,
        }
    }
}

/// Counts aliases and directives and, when introspection is off, refuses it with a clear
/// error (async-graphql alone answers `__schema: null`, which reads like a bug).
/// Parses through the schema's `ParsedDocuments`.
pub(crate) struct QueryLimits {
    pub limits: Limits,
    pub documents: Arc<ParsedDocuments>,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimitsExtension {
            limits: self.limits.clone(),
            documents: self.documents.clone(),
            operation_name: Mutex::new(None),
        })
    }
}

/// One per request: remembers what `prepare_request` saw for `parse_query`.
struct QueryLimitsExtension {
    limits: Limits,
    documents: Arc<ParsedDocuments>,
    operation_name: Mutex<Option<String>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for QueryLimitsExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if !request.query.is_empty() {
            scan_text(&request.query, &self.limits).map_err(refusal)?;
        }
        *self
            .operation_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // No extension after this one parses: the documents' cache stands in for the parse.
        let document = self
            .documents
            .parse(query, next.run(ctx, query, variables))
            .await?;
        let mut shape = Shape::default();
        for (_, operation) in document.operations.iter() {
            shape.directives += operation.node.directives.len();
            for variable in &operation.node.variable_definitions {
                shape.directives += variable.node.directives.len();
            }
            shape.visit(&operation.node.selection_set.node);
        }
        for fragment in document.fragments.values() {
            shape.directives += fragment.node.directives.len();
            shape.visit(&fragment.node.selection_set.node);
        }
        if shape.aliases > self.limits.max_aliases {
            return Err(refusal(too_many_aliases(
                shape.aliases,
                self.limits.max_aliases,
            )));
        }
        if shape.directives > self.limits.max_directives {
            return Err(refusal(too_many_directives(
                shape.directives,
                self.limits.max_directives,
            )));
        }
        if shape.introspects && !self.limits.introspection {
            return Err(refusal(
                "introspection is disabled on this server".to_owned(),
            ));
        }
        if ctx.data_opt::<RequestMeta>().is_some_and(|m| m.read_only) {
            let name = self
                .operation_name
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if selected_type(&document, name.as_deref()) != Some(OperationType::Query) {
                // A persisted mutation sent by hash over GET: the text check in the HTTP
                // layer could not see it.
                return Err(refusal("only queries may be sent with GET".to_owned()));
            }
        }
        Ok(document)
    }
}

pub(crate) fn refusal(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "BAD_USER_INPUT");
    err.extensions = Some(ext);
    err
}

fn too_many_aliases(found: usize, max: usize) -> String {
    format!("the query uses {found} aliases; at most {max} are allowed")
}

fn too_many_directives(found: usize, max: usize) -> String {
    format!("the query uses {found} directives; at most {max} are allowed")
}

/// One pass over the bytes of a query, without building anything: strings, block
/// strings and comments are skipped, the rest counted. Aliases are the colons outside
/// parentheses (inside them colons belong to arguments, object values and variable
/// definitions). Stops at the first bracket or token beyond the limits, so the cost of
/// refusing is bounded by the limits, not by the size of the request.
pub(crate) fn scan_text(query: &str, limits: &Limits) -> Result<(), String> {
    if query.len() > limits.max_query_bytes {
        return Err(format!(
            "the query is {} bytes long; at most {} are allowed",
            query.len(),
            limits.max_query_bytes
        ));
    }
    let bytes = query.as_bytes();
    let len = bytes.len();
    let (mut i, mut tokens, mut aliases, mut directives) = (0, 0usize, 0usize, 0usize);
    let (mut depth, mut parens) = (0usize, 0usize);
    while i < len {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < len && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < len {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < len {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                if b == b'(' {
                    parens += 1;
                }
                if depth > limits.max_recursive_depth {
                    return Err(format!(
                        "the query is nested more than {} levels deep",
                        limits.max_recursive_depth
                    ));
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if b == b')' {
                    parens = parens.saturating_sub(1);
                }
                i += 1;
            }
            b':' => {
                if parens == 0 {
                    aliases += 1;
                }
                i += 1;
            }
            b'@' => {
                directives += 1;
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                while i < len && matches!(bytes[i], b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
                {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < len && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
            }
            // Anything else is one token; the parser says what is wrong with it.
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(format!(
                "the query has more than {} tokens",
                limits.max_tokens
            ));
        }
    }
    if aliases > limits.max_aliases {
        return Err(too_many_aliases(aliases, limits.max_aliases));
    }
    if directives > limits.max_directives {
        return Err(too_many_directives(directives, limits.max_directives));
    }
    Ok(())
}

#[derive(Default)]
struct Shape {
    aliases: usize,
    directives: usize,
    introspects: bool,
}

impl Shape {
    fn visit(&mut self, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    if field.node.alias.is_some() {
                        self.aliases += 1;
                    }
                    self.directives += field.node.directives.len();
                    let name = field.node.name.node.as_str();
                    if name == "__schema" || name == "__type" {
                        self.introspects = true;
                    }
                    self.visit(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    self.directives += fragment.node.directives.len();
                    self.visit(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    self.directives += spread.node.directives.len();
                }
            }
        }
    }
}

/// Latency and count per operation name, as the executed document names it.
pub(crate) struct OperationMetrics;

impl ExtensionFactory for OperationMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationMetrics)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for OperationMetrics {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = std::time::Instant::now();
        let response = next.run(ctx, operation_name).await;
        let operation = operation_name.unwrap_or("anonymous").to_owned();
        metrics::histogram!("gerak_graphql_operation_seconds", "operation" => operation.clone())
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("gerak_graphql_operations_total", "operation" => operation).increment(1);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::{Limits, scan_text};

    #[test]
    fn the_text_scan_counts_what_the_parser_would_see() {
        let limits = Limits {
            max_aliases: 2,
            max_directives: 1,
            max_recursive_depth: 4,
            max_tokens: 100,
            ..Limits::default()
        };
        assert!(scan_text("{ a: me { id } b: me { id } }", &limits).is_ok());
        // Colons in arguments, variables and strings are not aliases.
        assert!(
            scan_text(
                r#"query Q($x: ID!, $y: In = {a: 1}) { user(id: $x) { id } c: me { id } d: me { n: id } }"#,
                &limits
            )
            .unwrap_err()
            .contains("3 aliases")
        );
        assert!(scan_text(r#"{ me(x: "a: b: c: d") { id } } # e: f: g:"#, &limits).is_ok());
        assert!(scan_text(r#"{ me(x: """a: "" b: \""" c:""") { id } }"#, &limits).is_ok());
        assert!(
            scan_text("{ a { b { c { d { e } } } } }", &limits)
                .unwrap_err()
                .contains("nested")
        );
        assert!(
            scan_text("{ me @a @b }", &limits)
                .unwrap_err()
                .contains("2 directives")
        );
        assert!(
            scan_text(&"{ a }".repeat(40), &limits)
                .unwrap_err()
                .contains("tokens")
        );
        let short = Limits {
            max_query_bytes: 8,
            ..Limits::default()
        };
        assert!(
            scan_text("{ __typename }", &short)
                .unwrap_err()
                .contains("bytes")
        );
        // Unterminated strings and stray bytes do not trip the scanner up.
        assert!(scan_text("{ me(x: \"open", &Limits::default()).is_ok());
        assert!(scan_text("{ \u{0} ☃ }", &Limits::default()).is_ok());
    }
}
