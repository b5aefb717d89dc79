//! Files that must agree with the code: the committed SDL and docker-compose.yml.

use std::{collections::BTreeSet, path::PathBuf};

use clap::CommandFactory;
use gerak_server::cli::Cli;

fn repo_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
}

#[test]
fn committed_schema_matches_the_code() {
    let committed =
        std::fs::read_to_string(repo_file("schema.graphql")).expect("schema.graphql is committed");
    assert!(
        committed == gerak_schema::sdl(),
        "schema.graphql has drifted from the code: run `cargo run -p gerak-server -- export-schema --out schema.graphql`"
    );
}

/// Every `GERAK_*` variable the binary reads.
fn config_variables() -> BTreeSet<String> {
    Cli::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env().map(|e| e.to_string_lossy().into_owned()))
        .collect()
}

#[test]
fn docker_compose_matches_the_config() {
    let text =
        std::fs::read_to_string(repo_file("docker-compose.yml")).expect("docker-compose.yml");
    let compose: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let services = compose["services"].as_mapping().expect("services");
    let image = |name: &str| {
        compose["services"][name]["image"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        services.contains_key("postgres") && image("postgres").starts_with("postgres:16"),
        "PostgreSQL 16"
    );
    assert!(
        services.contains_key("redis") && image("redis").starts_with("redis:7"),
        "Redis 7"
    );
    let server = &compose["services"]["gerak"];
    assert_eq!(server["build"]["dockerfile"].as_str(), Some("Dockerfile"));

    let known = config_variables();
    let environment = server["environment"]
        .as_mapping()
        .expect("gerak.environment is a map");
    let mut set = BTreeSet::new();
    for (key, value) in environment {
        let key = key.as_str().unwrap().to_owned();
        assert!(
            known.contains(&key) || key == "GERAK_ADMIN_PASSWORD",
            "{key} is not a setting gerak reads"
        );
        if let Some(url) = value.as_str()
            && key.ends_with("_DATABASE_URL")
        {
            let domain = key
                .trim_start_matches("GERAK_")
                .trim_end_matches("_DATABASE_URL")
                .to_lowercase();
            assert!(
                url.starts_with("postgres://") && url.ends_with(&format!("/gerak_{domain}")),
                "{key}={url}"
            );
        }
        set.insert(key);
    }
    for required in [
        "GERAK_ADDR",
        "GERAK_PROFILE",
        "GERAK_JWT_SECRET",
        "GERAK_REDIS_URL",
        "GERAK_USERS_DATABASE_URL",
        "GERAK_CAMPAIGNS_DATABASE_URL",
        "GERAK_CHALLENGES_DATABASE_URL",
        "GERAK_DONATIONS_DATABASE_URL",
        "GERAK_REPORTS_DATABASE_URL",
    ] {
        assert!(
            set.contains(required),
            "docker-compose.yml does not set {required}"
        );
    }

    // The init script mounted into PostgreSQL creates the five databases.
    let volumes = compose["services"]["postgres"]["volumes"]
        .as_sequence()
        .expect("postgres volumes");
    let init = volumes
        .iter()
        .filter_map(|v| v.as_str())
        .find(|v| v.contains("/docker-entrypoint-initdb.d"))
        .expect("an init script is mounted");
    let script = std::fs::read_to_string(repo_file(
        init.split(':').next().unwrap().trim_start_matches("./"),
    ))
    .expect("init script");
    for domain in ["users", "campaigns", "challenges", "donations", "reports"] {
        assert!(
            script.contains(&format!("CREATE DATABASE gerak_{domain}")),
            "{domain}"
        );
    }

    let dockerfile = std::fs::read_to_string(repo_file("Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")) >= 2,
        "multi-stage"
    );
}
