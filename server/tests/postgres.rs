//! The scenarios on a real PostgreSQL (a throwaway cluster on a free port, stopped at the
//! end), and two instances sharing one database.

mod common;
mod scenarios;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::postgres::Cluster;
use common::*;
use futures_util::future::join_all;
use libtest_mimic::{Arguments, Trial};
use reqwest::Method;

/// A database name per scenario.
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

async fn database(port: u16) -> Db {
    let name = format!("scenario_{}", NEXT_DATABASE.fetch_add(1, Ordering::SeqCst));
    Db::postgres(Cluster::database(port, &name).await)
}

/// 100 first calls for one user, split across two instances sharing the database.
async fn two_instances_sharing_postgres_make_one_customer(db: Db) {
    let sim = simulator(1);
    let (one, two) = tokio::join!(start(config(&sim, &db)), start(config(&sim, &db)));
    let apis = [Api::new(one.addr), Api::new(two.addr)];
    let kim = session("kim");
    let calls = (0..100).map(|i| {
        let (api, kim) = (apis[i % 2].clone(), kim.clone());
        tokio::spawn(async move {
            api.call(Method::POST, "/v1/setup-token", Some(&kim), None)
                .await
        })
    });
    let answers: Vec<_> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    assert_eq!(cloud_customers(&sim).len(), 1, "exactly one customer");
    let store = softap_maker::store::Store::open(&db.url).await.unwrap();
    assert_eq!(store.customer_count().await.unwrap(), 1);
    store.close().await;
    // Both instances name the same customer for a second user too.
    let lee = session("lee");
    apis[0].setup_token(&lee).await;
    apis[1].setup_token(&lee).await;
    assert_eq!(cloud_customers(&sim).len(), 2);
    one.stop().await;
    two.stop().await;
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut scenarios = scenarios::all();
    scenarios.push(("two_instances_sharing_postgres_make_one_customer", |db| {
        Box::pin(two_instances_sharing_postgres_make_one_customer(db))
    }));
    // Listing the tests needs no database.
    let cluster = (!args.list).then(|| Arc::new(Cluster::start()));
    let port = cluster.as_ref().map_or(0, |c| c.port);
    let trials = scenarios
        .into_iter()
        .map(|(name, scenario)| {
            Trial::test(format!("postgres::{name}"), move || {
                let db = tokio::runtime::Runtime::new()
                    .expect("runtime")
                    .block_on(database(port));
                run(scenario, db);
                Ok(())
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(cluster);
    conclusion.exit_code()
}
