//! The outbound allow-list against real connections: base URLs the policy refuses, names that
//! resolve to refused addresses (through the system resolver and a table resolver), and template
//! listings from a look-alike server that pages forever or streams an endless page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hoheit_dialog360::{
    ClientConfig, ConfigError, Dialog360Client, Dialog360Error, EgressPolicy, HttpClient, RetryPolicy, SecretString,
};
use hoheit_domain::conversation::OutboundContent;
use hoheit_domain::ports::{GatewayError, Recipient};
use hoheit_domain::values::PhoneNumber;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(base: &str, egress: EgressPolicy) -> ClientConfig {
    let mut c = ClientConfig::new(base, SecretString::from("k")).unwrap();
    c.egress = egress;
    c.retry = RetryPolicy::none();
    c.request_timeout = Duration::from_secs(5);
    c.connect_timeout = Duration::from_millis(500);
    c
}

fn text() -> OutboundContent {
    OutboundContent::Text { body: "Hallo".into() }
}

fn phone() -> Recipient {
    Recipient::Phone(PhoneNumber::parse("+49 176 12345678").unwrap())
}

#[test]
fn refused_base_urls_cannot_build_a_client() {
    for base in [
        "http://127.0.0.1:4000",
        "https://127.0.0.1",
        "https://10.0.0.1",
        "https://172.16.5.4",
        "https://192.168.178.1",
        "https://169.254.169.254",
        "https://[fd00:ec2::254]",
        "https://[fe80::1]",
        "https://100.64.0.1",
        "https://localhost",
        "http://waba-v2.360dialog.io",
        "https://waba-v2.360dialog.io:8443",
        "https://attacker.example",
    ] {
        let error = Dialog360Client::new(config(base, EgressPolicy::default())).unwrap_err();
        assert_eq!(error, ConfigError::NotAllowed, "{base}");
    }
    assert!(Dialog360Client::new(config("https://waba-v2.360dialog.io", EgressPolicy::default())).is_ok());
}

/// A name the operator allow-listed by mistake that resolves to loopback: the connection is
/// refused after resolution, nothing reaches the listener.
#[tokio::test]
async fn an_allowed_name_resolving_to_loopback_is_refused_after_resolution() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    // https on the default port is what the policy demands; the port is the listener's through
    // a table resolver, so a connection would reach it if the guard let it through
    let table = Table::new(&[("localhost.test", "127.0.0.1")]).with_port(port);
    let egress = EgressPolicy::new(["localhost.test"]).unwrap();
    let http = HttpClient::with_resolver(Duration::from_millis(500), &egress, Arc::new(table)).unwrap();
    let client = Dialog360Client::with_http_client(config("https://localhost.test", egress), http).unwrap();
    assert_eq!(client.list_templates().await.unwrap_err(), Dialog360Error::NotAllowed);
    assert_eq!(client.send(&phone(), &text()).await.unwrap_err(), GatewayError::ChannelFailure { code: None });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "no connection may reach a refused address");

    // the system resolver: `localhost` itself
    let egress = EgressPolicy::new(["localhost"]).unwrap();
    let client = Dialog360Client::new(config("https://localhost", egress.clone())).unwrap();
    assert_eq!(client.list_templates().await.unwrap_err(), Dialog360Error::NotAllowed);
    let http = HttpClient::new(Duration::from_millis(500), &egress).unwrap();
    let url = reqwest::Url::parse("https://localhost/").unwrap();
    assert!(http.check_destination(&egress, &url).await.is_err());
}

#[tokio::test]
async fn names_resolving_to_private_link_local_or_metadata_addresses_are_refused() {
    let table = Table::new(&[
        ("rfc1918.test", "10.1.2.3"),
        ("home.test", "192.168.0.10"),
        ("link.test", "169.254.10.10"),
        ("metadata.test", "169.254.169.254"),
        ("metadata6.test", "fd00:ec2::254"),
        ("cgnat.test", "100.100.100.100"),
        ("mapped.test", "::ffff:127.0.0.1"),
    ]);
    let hosts =
        ["rfc1918.test", "home.test", "link.test", "metadata.test", "metadata6.test", "cgnat.test", "mapped.test"];
    let egress = EgressPolicy::new(hosts).unwrap();
    let http = HttpClient::with_resolver(Duration::from_millis(500), &egress, Arc::new(table)).unwrap();
    for host in hosts {
        let base = format!("https://{host}");
        let client = Dialog360Client::with_http_client(config(&base, egress.clone()), http.clone()).unwrap();
        let started = Instant::now();
        assert_eq!(client.list_templates().await.unwrap_err(), Dialog360Error::NotAllowed, "{host}");
        assert!(started.elapsed() < Duration::from_secs(1), "refused before any connection attempt: {host}");
        let url = reqwest::Url::parse(&base).unwrap();
        assert!(http.check_destination(&egress, &url).await.is_err(), "{host}");
    }
}

#[tokio::test]
async fn transport_failures_are_one_error_whatever_listens() {
    // a closed port and an open port that answers garbage: the same error
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open_addr = open.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = open.accept().await {
            let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        }
    });
    let mut errors = Vec::new();
    for addr in [closed, open_addr] {
        let client =
            Dialog360Client::new(config(&format!("http://{addr}"), EgressPolicy::insecure_loopback())).unwrap();
        errors.push(client.list_templates().await.unwrap_err());
    }
    assert_eq!(errors[0], errors[1]);
    assert_eq!(errors[0].to_string(), errors[1].to_string());
}

/// A look-alike 360Dialog on a raw socket: `pages_forever` answers every page with one more
/// template and no total; otherwise it streams one endless chunked page.
async fn look_alike(pages_forever: bool) -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let (r, s) = (requests.clone(), sent.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (r, s) = (r.clone(), s.clone());
            tokio::spawn(async move {
                let mut buf = vec![0_u8; 8192];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    r.fetch_add(1, Ordering::SeqCst);
                    if pages_forever {
                        let body = r#"{"count":1,"offset":0,"limit":1,"waba_templates":[{"name":"t","language":"de","status":"APPROVED","category":"UTILITY","components":[]}]}"#;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        if socket.write_all(head.as_bytes()).await.is_err()
                            || socket.write_all(body.as_bytes()).await.is_err()
                        {
                            return;
                        }
                    } else {
                        let head =
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                        if socket.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "x".repeat(16 * 1024));
                        // endless: stops only when the client hangs up
                        while socket.write_all(chunk.as_bytes()).await.is_ok() {
                            s.fetch_add(16 * 1024, Ordering::SeqCst);
                        }
                        return;
                    }
                }
            });
        }
    });
    (addr, requests, sent)
}

#[tokio::test]
async fn a_page_streaming_beyond_the_size_cap_is_cut_off() {
    let (addr, _, sent) = look_alike(false).await;
    let mut c = config(&format!("http://{addr}"), EgressPolicy::insecure_loopback());
    c.max_template_bytes = 64 * 1024;
    let client = Dialog360Client::new(c).unwrap();
    let started = Instant::now();
    let error = client.list_templates().await.unwrap_err();
    assert_eq!(error, Dialog360Error::InvalidResponse("template list exceeds the size cap"));
    // cut off while streaming, not by the 5 s request timeout
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // the server could push no more than the cap plus what the socket buffers hold
    assert!(sent.load(Ordering::SeqCst) < 16 * 1024 * 1024, "{}", sent.load(Ordering::SeqCst));
}

#[tokio::test]
async fn paging_beyond_the_page_cap_is_cut_off() {
    let (addr, requests, _) = look_alike(true).await;
    let mut c = config(&format!("http://{addr}"), EgressPolicy::insecure_loopback());
    c.template_page_size = 1;
    c.max_template_pages = 5;
    let client = Dialog360Client::new(c).unwrap();
    let error = client.list_templates().await.unwrap_err();
    assert_eq!(error, Dialog360Error::InvalidResponse("template list exceeds the page cap"));
    assert_eq!(requests.load(Ordering::SeqCst), 5);
}

/// Resolves from a table (names pointing at chosen addresses without DNS).
struct Table {
    map: HashMap<String, Vec<IpAddr>>,
    port: u16,
}

impl Table {
    fn new(entries: &[(&str, &str)]) -> Self {
        let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (name, ip) in entries {
            map.entry((*name).to_owned()).or_default().push(ip.parse().unwrap());
        }
        Self { map, port: 0 }
    }

    fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

impl Resolve for Table {
    fn resolve(&self, name: Name) -> Resolving {
        let addrs: Vec<SocketAddr> = self
            .map
            .get(name.as_str())
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|ip| (ip, self.port).into())
            .collect();
        Box::pin(async move {
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
