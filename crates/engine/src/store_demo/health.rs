//! The demo world's health rows: failures per product, their daily hits,
//! the failure reports (with their CAB files) and their stack frames. Apart
//! from the other generators because they share the failure list.

use super::*;

impl World {
    /// The failures each product has: (name, hash, symbol, event type).
    fn failures(&self, product: &str) -> Vec<(String, String, String, &'static str)> {
        let mut rng = self.rng("failures", product);
        let images = ["ContosoCore.dll", "app.exe", "ntdll.dll", "ucrtbase.dll"];
        (0..6)
            .map(|k| {
                let image = images[k % images.len()];
                let function = [
                    "ParseHeader",
                    "RenderFrame",
                    "LoadTile",
                    "SaveDocument",
                    "OnResume",
                    "Dispose",
                ][k];
                let event = pick(&mut rng, EVENT_TYPES);
                let code = ["c0000005", "c0000409", "e0434352", "80000003"][k % 4];
                (
                    format!(
                        "{}_{code}_{image}!{function}",
                        [
                            "NULL_CLASS_PTR_READ",
                            "STACK_BUFFER_OVERRUN",
                            "CLR_EXCEPTION",
                            "BREAKPOINT"
                        ][k % 4]
                    ),
                    guid(&mut rng),
                    format!("{image}!{function}+0x{:x}", 16 * (k + 1)),
                    event,
                )
            })
            .collect()
    }

    /// Products with failure data and the columns that tell them apart.
    fn failure_sources() -> Vec<(&'static str, &'static str)> {
        vec![
            ("9NBLGGH4R315", "uwp"),
            ("9WZDNCRFJ3TJ", "uwp"),
            ("9NBLGGGZ5QDR", "xbox"),
            ("10293847", "desktop"),
            ("14567890", "driver"),
            ("ihvdriver", "ihvdriver"),
            ("hardware", "hardware"),
        ]
    }

    pub(super) fn failure_hits(&self, t: &mut Table) -> Result<()> {
        let failure_days = 45;
        let from = self.last - Duration::days(failure_days - 1);
        for (id, kind) in Self::failure_sources() {
            let account = matches!(kind, "ihvdriver" | "hardware");
            let p = product(id);
            let failures = self.failures(id);
            for (fi, (name, hash, symbol, event)) in failures.iter().enumerate() {
                for (ci, market) in ["US", "DE", "JP"].iter().enumerate() {
                    let mut rng = self.rng("hits", &format!("{id}{fi}{ci}"));
                    let os_release = OS_RELEASES[(fi + ci) % OS_RELEASES.len()];
                    let version = PACKAGES[(fi + ci) % PACKAGES.len()];
                    let device = match kind {
                        "xbox" => "Console",
                        "driver" | "ihvdriver" | "hardware" => "PC",
                        _ => ["PC", "Unknown"][ci % 2],
                    };
                    let cells = |date: NaiveDate,
                                 hour: Option<i64>,
                                 grain: &'static str,
                                 devices: i64,
                                 events: i64|
                     -> Vec<(&'static str, CellRef<'_>)> {
                        let mut c: Vec<(&str, CellRef<'_>)> = vec![
                            ("date", D(date)),
                            ("grain", S(grain)),
                            ("failureName", S(name)),
                            ("failureHash", S(hash)),
                            ("symbol", S(symbol)),
                            (
                                "eventType",
                                S(if kind == "xbox" && *event == "memory" {
                                    "memory failure"
                                } else {
                                    event
                                }),
                            ),
                            ("market", S(market)),
                            ("deviceType", S(device)),
                            (
                                "osVersion",
                                S(if kind == "xbox" {
                                    "Windows 10"
                                } else {
                                    "Windows 11"
                                }),
                            ),
                            ("osRelease", S(os_release)),
                            ("osBuild", S("10.0.22631.4460")),
                            ("deviceCount", I(devices)),
                            ("eventCount", I(events)),
                        ];
                        if let Some(h) = hour {
                            c.push(("hour", I(h)));
                        }
                        if account {
                            c.push(("sellerId", S(SELLER_ID)));
                            c.push(("productName", S(kind)));
                        } else {
                            c.push(("applicationId", S(p.id)));
                            c.push(("applicationName", S(p.name)));
                        }
                        match kind {
                            "uwp" | "xbox" => {
                                c.push((
                                    "packageName",
                                    S("Contoso.App_1.5.1.0_x64__8wekyb3d8bbwe"),
                                ));
                                c.push(("packageVersion", S(version)));
                            }
                            "desktop" => {
                                c.push(("productName", S(p.name)));
                                c.push(("fileName", S("studio.exe")));
                                c.push(("applicationVersion", S(version)));
                            }
                            _ => {
                                c.push(("submissionId", S("1152921504628000000")));
                                c.push(("driverName", S("contosowifi.sys")));
                                c.push(("driverVersion", S("2.1.4.0")));
                                c.push(("oemName", S("Contoso")));
                                c.push(("oemModel", S("CW-200")));
                                c.push(("flightRing", S("Retail")));
                                c.push(("architecture", S("X64")));
                                c.push(("osName", S("Windows 11")));
                                c.push(("moduleName", S("contosowifi.sys")));
                                c.push(("moduleVersion", S("2.1.4.0")));
                                c.push(("mode", S("kernel")));
                                c.push(("model", S("CW-200")));
                                c.push(("baseboard", S("CB-1")));
                                c.push(("modelFamily", S("Contoso Wireless")));
                            }
                        }
                        c
                    };
                    let mut weeks: HashMap<NaiveDate, (i64, i64, i64)> = HashMap::new();
                    let mut months: HashMap<NaiveDate, (i64, i64, i64)> = HashMap::new();
                    for k in 0..failure_days {
                        let day = from + Duration::days(k);
                        let events = count(&mut rng, 30.0 / (fi as f64 + 1.0));
                        let devices = (events * 2 / 3).max(i64::from(events > 0));
                        t.row(&cells(day, None, "day", devices, events))?;
                        for (map, key) in [
                            (&mut weeks, week_start(day)),
                            (&mut months, month_start(day)),
                        ] {
                            let e = map.entry(key).or_insert((0, 0, 0));
                            e.0 += events;
                            e.1 += devices;
                            e.2 = e.2.max(devices);
                        }
                        if (self.last - day).num_days() < 4 {
                            // Hours split the day's events; each hour's devices
                            // are no more than the day's.
                            let mut left = events;
                            for h in 0..24 {
                                let e = if h == 23 {
                                    left
                                } else {
                                    rng.random_range(0..=left.min(3))
                                };
                                left -= e;
                                if e > 0 {
                                    t.row(&cells(day, Some(h), "hour", e.min(devices).max(1), e))?;
                                }
                            }
                        }
                    }
                    for (grain, map) in [("week", weeks), ("month", months)] {
                        let mut keys: Vec<_> = map.into_iter().collect();
                        keys.sort_by_key(|(d, _)| *d);
                        for (date, (events, sum_devices, peak)) in keys {
                            let devices = peak + (sum_devices - peak) / 2;
                            t.row(&cells(date, None, grain, devices, events))?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Four failure reports (CABs) per failure of every product: the one
    /// list both the reports and their stack frames are made from.
    fn reports(&self) -> Vec<Report> {
        let mut out = Vec::new();
        for (id, kind) in Self::failure_sources() {
            let mut rng = self.rng("reports", id);
            for (name, hash, symbol, _) in self.failures(id) {
                for k in 0..4u64 {
                    let day = self.last - Duration::days(rng.random_range(0..28i64));
                    let key = if matches!(kind, "uwp" | "xbox") {
                        format!(
                            "{}",
                            1_200_000_000u64 + rng.random_range(0..99_999_999u64) + k
                        )
                    } else {
                        guid(&mut rng)
                    };
                    out.push(Report {
                        product: id,
                        kind,
                        name: name.clone(),
                        hash: hash.clone(),
                        symbol: symbol.clone(),
                        k,
                        day,
                        key,
                    });
                }
            }
        }
        out
    }

    pub(super) fn failure_reports(
        &self,
        t: &mut Table,
        cabs: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<()> {
        for r in self.reports() {
            let (kind, k, day, key, hash, name) = (r.kind, r.k, r.day, &r.key, &r.hash, &r.name);
            let account = matches!(kind, "ihvdriver" | "hardware");
            let p = product(r.product);
            let expires = day + Duration::days(35);
            let expiry = format!("{} 01:37:00", expires.format("%Y-%m-%d"));
            let mut c: Vec<(&str, CellRef<'_>)> = vec![
                ("date", D(day)),
                ("failureHash", S(hash)),
                ("failureName", S(name)),
                ("cabKey", S(key)),
                ("cabType", S("MINI")),
                ("cabExpirationTime", S(&expiry)),
                ("cabDownloadable", I(1)),
                ("market", S(["US", "DE", "JP"][k as usize % 3])),
                ("osBuild", S("10.0.22631")),
                (
                    "osVersion",
                    S(if kind == "xbox" {
                        "Windows 10"
                    } else {
                        "Windows 11"
                    }),
                ),
                ("osRelease", S("Version 23H2")),
                (
                    "deviceType",
                    S(if kind == "xbox" { "Console" } else { "PC" }),
                ),
                (
                    "deviceModel",
                    S(if kind == "xbox" {
                        "Microsoft-Xbox One S"
                    } else {
                        "Dell Inc.-Inspiron 15-3567"
                    }),
                ),
                ("packageVersion", S("1.5.1.0")),
                ("applicationVersion", S("1.5.1.0")),
                ("clientDeviceId", S("4A7C1B")),
            ];
            if account {
                c.push(("sellerId", S(SELLER_ID)));
                c.push(("fileName", S(kind)));
            } else {
                c.push(("applicationId", S(p.id)));
                if kind == "desktop" {
                    c.push(("fileName", S("studio.exe")));
                }
            }
            t.row(&c)?;
            cabs.push((key.clone(), cab_file(key, name)?));
        }
        Ok(())
    }

    pub(super) fn stack_frames(&self, t: &mut Table) -> Result<()> {
        for r in self.reports() {
            let (symbol, key) = (&r.symbol, &r.key);
            let (image, function) = symbol.split_once('!').unwrap_or(("app.exe", "main"));
            let function = function.split('+').next().unwrap_or(function);
            let frames = [
                (image, function),
                (image, "DispatchMessage"),
                ("user32.dll", "UserCallWinProcCheckWow"),
                ("kernel32.dll", "BaseThreadInitThunk"),
                ("ntdll.dll", "RtlUserThreadStart"),
            ];
            for (level, (img, func)) in frames.iter().enumerate() {
                let level_text = level.to_string();
                let offset = format!("0x{:X}", 0x1a0 + 0x38 * level);
                t.row(&[
                    ("cabKey", S(key)),
                    ("level", S(&level_text)),
                    ("image", S(img)),
                    ("function", S(func)),
                    ("offset", S(&offset)),
                    ("isBlamedFrame", I(i64::from(level == 0))),
                ])?;
            }
        }
        Ok(())
    }
}
