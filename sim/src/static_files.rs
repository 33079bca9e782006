//! Static files for the demo: the setup page (`--www DIR` at `/`) and the npm package
//! (`--pkg DIR` at `/pkg/`), with the MIME types browsers insist on (`application/wasm`).

use std::path::{Component, Path, PathBuf};

use crate::httpd::{Request, Response};

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "webmanifest" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves `GET` requests from `www` (and `/pkg/…` from `pkg`); `..` never leaves them.
pub fn serve(request: &Request, www: &Path, pkg: Option<&Path>) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::empty(405);
    }
    let (root, rest) = match (pkg, request.path.strip_prefix("/pkg/")) {
        (Some(pkg), Some(rest)) => (pkg, rest),
        _ => (www, request.path.trim_start_matches('/')),
    };
    let relative = PathBuf::from(crate::httpd::url_decode(rest));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Response::empty(404);
    }
    let mut file = root.join(&relative);
    if rest.is_empty() || file.is_dir() {
        file = file.join("index.html");
    }
    match std::fs::read(&file) {
        Ok(body) => Response {
            status: 200,
            headers: Vec::new(),
            body,
            stream: None,
        }
        .with_header("Content-Type", mime(&file))
        .with_header("Cache-Control", "no-cache"),
        Err(_) => Response::empty(404),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn get(path: &str) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            query: BTreeMap::new(),
            headers: BTreeMap::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn serves_files_with_their_types_and_never_outside_the_roots() {
        let dir = std::env::temp_dir().join(format!("softap-sim-static-{}", std::process::id()));
        let (www, pkg) = (dir.join("www"), dir.join("pkg"));
        std::fs::create_dir_all(&www).unwrap();
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(www.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(pkg.join("x_bg.wasm"), [0, 97, 115, 109]).unwrap();
        std::fs::write(dir.join("secret.txt"), "no").unwrap();
        let page = serve(&get("/"), &www, Some(&pkg));
        assert_eq!(
            (page.status, page.body.as_slice()),
            (200, &b"<p>hi</p>"[..])
        );
        assert!(page
            .headers
            .contains(&("Content-Type".into(), "text/html; charset=utf-8".into())));
        let wasm = serve(&get("/pkg/x_bg.wasm"), &www, Some(&pkg));
        assert!(wasm
            .headers
            .contains(&("Content-Type".into(), "application/wasm".into())));
        assert_eq!(serve(&get("/../secret.txt"), &www, Some(&pkg)).status, 404);
        assert_eq!(
            serve(&get("/pkg/%2e%2e/secret.txt"), &www, Some(&pkg)).status,
            404
        );
        assert_eq!(serve(&get("/missing.js"), &www, Some(&pkg)).status, 404);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
