//! Query limits beyond async-graphql's depth and complexity: aliases are counted here,
//! because 1,000 aliases of one expensive field are cheap to send and costly to answer.

use std::sync::Arc;

use async_graphql::{
    Response, ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// Limits every query must stay within; defaults are what the README documents.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 2_000,
            max_aliases: 100,
            introspection: true,
        }
    }
}

/// Counts aliases and, when introspection is off, refuses it with a clear error
/// (async-graphql alone answers `__schema: null`, which reads like a bug).
pub(crate) struct QueryLimits {
    pub max_aliases: usize,
    pub introspection: bool,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimitsExtension {
            max_aliases: self.max_aliases,
            introspection: self.introspection,
        })
    }
}

struct QueryLimitsExtension {
    max_aliases: usize,
    introspection: bool,
}

#[async_graphql::async_trait::async_trait]
impl Extension for QueryLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mut shape = Shape::default();
        for (_, operation) in document.operations.iter() {
            shape.visit(&operation.node.selection_set.node);
        }
        for fragment in document.fragments.values() {
            shape.visit(&fragment.node.selection_set.node);
        }
        if shape.aliases > self.max_aliases {
            return Err(refusal(format!(
                "the query uses {} aliases; at most {} are allowed",
                shape.aliases, self.max_aliases
            )));
        }
        if shape.introspects && !self.introspection {
            return Err(refusal(
                "introspection is disabled on this server".to_owned(),
            ));
        }
        Ok(document)
    }
}

fn refusal(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "BAD_USER_INPUT");
    err.extensions = Some(ext);
    err
}

#[derive(Default)]
struct Shape {
    aliases: usize,
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
                    let name = field.node.name.node.as_str();
                    if name == "__schema" || name == "__type" {
                        self.introspects = true;
                    }
                    self.visit(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    self.visit(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(_) => {}
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
