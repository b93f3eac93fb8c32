//! The Store analytics API as one declarative table (spec §2): for every
//! method its path, dataset, parameters with defaults and limits, the
//! fields it filters, orders and groups by, what it always returns, its
//! aggregation levels, retention and response shape. The generic resolver
//! (`storeapi::resolve`) and the server's one handler read nothing else.

use crate::plan::Combine;

/// Which product a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `applicationId` is required.
    App,
    /// `applicationId` is optional: all of the account's apps when omitted.
    AppOptional,
    /// `applicationId` or the named product parameter is required; when both
    /// are given the product wins and `applicationId` is ignored.
    AppOrProduct,
    /// No `applicationId`: the account itself (sellerId methods).
    Account,
}

/// How a method's dataset stores its measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Additive measures at day grain; week/month buckets are sums.
    Daily,
    /// Distinct-count measures (◆) stored once per grain (`grain` column:
    /// hour/day/week/month), never summed across dates.
    PerGrain,
    /// One stored row per answer row (reviews, CABs, frames): no aggregation.
    Rows,
}

/// A default start or end date, relative to today (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    Today,
    DaysAgo(i64),
    MonthsAgo(u32),
    /// A fixed date (year, month, day).
    Fixed(i32, u32, u32),
}

/// How the answer is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{Value, @nextLink, TotalCount}`.
    Envelope,
    /// The funnel: always four rows (PageView, Acquisition, Install, Usage).
    Funnel,
    /// Xbox concurrency: a bare JSON array.
    BareArray,
    /// CAB downloads: 302 to a signed URL.
    Redirect,
    /// Rows whose `document` column holds the precomputed JSON item.
    Document,
    /// Insights: rows whose `insightDetail` column holds a JSON array.
    Insights,
}

/// How dates are printed in rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// `2022-07-29`
    Day,
    /// `2022-07-12 00:00:00`
    DayTime,
    /// `2019-01-15T00:00:00.0000000Z`
    Iso7,
    /// `2018-01-30T00:00:00`
    IsoPlain,
}

/// A method-specific parameter that selects rows by equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub column: &'static str,
    pub required: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Method {
    /// Below `/v1.0/my/analytics/`, lower case.
    pub path: &'static str,
    /// `gameanalytics` methods: the `metricType` value (else empty).
    pub metric_type: &'static str,
    pub dataset: &'static str,
    pub scope: Scope,
    /// The product parameter of [`Scope::AppOrProduct`] and its column.
    pub product: Option<Param>,
    /// Column = value conditions every call carries.
    pub fixed: &'static [(&'static str, &'static str)],
    pub stored: Stored,
    /// Accepted `aggregationLevel` values, the first is the default; empty
    /// = the method has none (the parameter is accepted only as `day`).
    pub levels: &'static [&'static str],
    pub start: Default,
    pub end: Default,
    /// Days of history served; older start dates are clamped.
    pub retention_days: Option<i64>,
    pub top_default: u64,
    pub top_max: u64,
    pub params: &'static [Param],
    pub filter: &'static [&'static str],
    pub order: &'static [&'static str],
    pub group: &'static [&'static str],
    /// Fields every row carries besides the grouped ones and the measures.
    pub always: &'static [&'static str],
    pub measures: &'static [(&'static str, Combine)],
    /// Row fields of [`Stored::Rows`] methods, in answer order.
    pub fields: &'static [&'static str],
    /// (wire name, stored column) where they differ.
    pub rename: &'static [(&'static str, &'static str)],
    /// Dimensions not grouped by are returned as `"All"` (usage, Xbox).
    pub ungrouped_all: bool,
    pub date_format: DateFormat,
    pub shape: Shape,
    /// The envelope carries `DataFreshnessTimestamp`.
    pub freshness: bool,
}

impl Method {
    /// The stored column behind a wire field name (case-insensitive).
    pub fn column_of(&self, wire: &str) -> String {
        self.rename
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(wire))
            .map_or_else(|| wire.to_string(), |(_, c)| (*c).to_string())
    }

    /// The wire name of a stored column.
    pub fn wire_of<'a>(&self, column: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.rename
            .iter()
            .find(|(_, c)| c.eq_ignore_ascii_case(column))
            .map_or(column, |(w, _)| w)
    }

    /// The method's answer to `/v1.0/my/analytics/<path>`.
    pub fn label(&self) -> String {
        if self.metric_type.is_empty() {
            self.path.to_string()
        } else {
            format!("{}?metricType={}", self.path, self.metric_type)
        }
    }
}

const BASE: Method = Method {
    path: "",
    metric_type: "",
    dataset: "",
    scope: Scope::App,
    product: None,
    fixed: &[],
    stored: Stored::Daily,
    levels: &["day", "week", "month"],
    start: Default::Today,
    end: Default::Today,
    retention_days: None,
    top_default: 10_000,
    top_max: 10_000,
    params: &[],
    filter: &[],
    order: &[],
    group: &[],
    always: &["date", "applicationId"],
    measures: &[],
    fields: &[],
    rename: &[],
    ungrouped_all: false,
    date_format: DateFormat::Day,
    shape: Shape::Envelope,
    freshness: false,
};

const ACQ_F: &[&str] = &[
    "acquisitionType",
    "ageGroup",
    "storeClient",
    "gender",
    "market",
    "osVersion",
    "deviceType",
    "orderName",
];
const ACQ_O: &[&str] = &[
    "date",
    "acquisitionType",
    "ageGroup",
    "storeClient",
    "gender",
    "market",
    "osVersion",
    "deviceType",
    "orderName",
];
const ACQ_MONEY: &[(&str, Combine)] = &[
    ("acquisitionQuantity", Combine::Sum),
    ("purchasePriceUSDAmount", Combine::Sum),
    ("purchasePriceLocalAmount", Combine::Sum),
    ("purchaseTaxUSDAmount", Combine::Sum),
    ("purchaseTaxLocalAmount", Combine::Sum),
];
const XDP_F: &[&str] = &[
    "acquisitionType",
    "age",
    "storeClient",
    "gender",
    "market",
    "osVersion",
    "deviceType",
    "sandboxId",
];
const XDP_G: &[&str] = &[
    "date",
    "applicationName",
    "acquisitionType",
    "age",
    "storeClient",
    "gender",
    "market",
    "osVersion",
    "deviceType",
    "sandboxId",
    "paymentInstrumentType",
    "xboxTitleId",
    "localCurrencyCode",
    "skuId",
    "skuDisplayName",
    "availabilityId",
    "productTypeName",
    "purchaseTaxType",
];
const XDP_ADDON_G: &[&str] = &[
    "date",
    "applicationName",
    "addonProductName",
    "acquisitionType",
    "age",
    "storeClient",
    "gender",
    "market",
    "osVersion",
    "deviceType",
    "sandboxId",
    "paymentInstrumentType",
    "xboxTitleIdHex",
    "localCurrencyCode",
    "skuId",
    "skuDisplayName",
    "availabilityId",
];
const CONV_F: &[&str] = &[
    "applicationName",
    "appType",
    "customCampaignId",
    "referrerUriDomain",
    "channelType",
    "storeClient",
    "deviceType",
    "market",
];
const CONV_M: &[(&str, Combine)] = &[
    ("clickCount", Combine::Sum),
    ("conversionCount", Combine::Sum),
];
const SUB_M: &[(&str, Combine)] = &[
    ("grossSalesBeforeTax", Combine::Sum),
    ("totalActiveCount", Combine::Last),
    ("totalChurnCount", Combine::Sum),
    ("newCount", Combine::Sum),
    ("renewCount", Combine::Sum),
    ("goodStandingActiveCount", Combine::Last),
    ("pendingGraceActiveCount", Combine::Last),
    ("graceActiveCount", Combine::Last),
    ("lockedActiveCount", Combine::Last),
    ("billingChurnCount", Combine::Sum),
    ("nonRenewalChurnCount", Combine::Sum),
    ("refundChurnCount", Combine::Sum),
    ("chargebackChurnCount", Combine::Sum),
    ("earlyChurnCount", Combine::Sum),
    ("otherChurnCount", Combine::Sum),
];
const USAGE_DAILY_M: &[(&str, Combine)] = &[
    ("dailySessionCount", Combine::Sum),
    ("engagementDurationMinutes", Combine::Sum),
    ("dailyActiveUsers", Combine::Peak),
    ("dailyActiveDevices", Combine::Peak),
    ("dailyNewUsers", Combine::Sum),
    ("monthlyActiveUsers", Combine::Peak),
    ("monthlyActiveDevices", Combine::Peak),
    ("monthlyNewUsers", Combine::Peak),
    ("dailyNewDevices", Combine::Sum),
    ("monthlyNewDevices", Combine::Peak),
];
const USAGE_MONTHLY_M: &[(&str, Combine)] = &[
    ("monthlySessionCount", Combine::Sum),
    ("engagementDurationMinutes", Combine::Sum),
    ("monthlyActiveUsers", Combine::Peak),
    ("monthlyActiveDevices", Combine::Peak),
    ("monthlyNewUsers", Combine::Sum),
    ("monthlyNewDevices", Combine::Sum),
    ("averageDailyActiveUsers", Combine::Peak),
    ("averageDailyActiveDevices", Combine::Peak),
];
const USAGE_G: &[&str] = &[
    "date",
    "applicationName",
    "subscriptionName",
    "deviceType",
    "packageVersion",
    "market",
];
const FAIL_F: &[&str] = &[
    "applicationName",
    "failureName",
    "failureHash",
    "symbol",
    "osVersion",
    "osRelease",
    "eventType",
    "market",
    "deviceType",
    "packageName",
    "packageVersion",
    "date",
];
const FAIL_G: &[&str] = &[
    "failureName",
    "failureHash",
    "symbol",
    "osVersion",
    "osRelease",
    "eventType",
    "market",
    "deviceType",
    "packageName",
    "packageVersion",
];
const FAIL_M: &[(&str, Combine)] = &[("deviceCount", Combine::Peak), ("eventCount", Combine::Sum)];
const DETAILS_F: &[&str] = &[
    "market",
    "date",
    "cabId",
    "cabExpirationTime",
    "deviceType",
    "deviceModel",
    "osVersion",
    "osRelease",
    "packageVersion",
    "osBuild",
];
const DETAILS_FIELDS: &[&str] = &[
    "applicationId",
    "failureHash",
    "failureName",
    "date",
    "cabId",
    "cabExpirationTime",
    "market",
    "osBuild",
    "packageVersion",
    "deviceModel",
    "osVersion",
    "osRelease",
    "deviceType",
    "cabDownloadable",
];
const FRAMES: &[&str] = &["level", "image", "function", "offset", "isBlamedFrame"];
const REVIEW_F: &[&str] = &[
    "market",
    "osVersion",
    "deviceType",
    "isRevised",
    "packageVersion",
    "deviceModel",
    "productFamily",
    "deviceScreenResolution",
    "isTouchEnabled",
    "reviewerName",
    "helpfulCount",
    "notHelpfulCount",
    "responseDate",
    "id",
    "deviceRAM",
    "deviceStorageCapacity",
    "rating",
    "reviewTitle",
    "reviewText",
    "responseText",
];
const DESKTOP_FAIL_F: &[&str] = &[
    "fileName",
    "applicationVersion",
    "failureName",
    "failureHash",
    "symbol",
    "osVersion",
    "osBuild",
    "osRelease",
    "eventType",
    "market",
    "deviceType",
    "productName",
    "date",
];
const BLOCK_F: &[&str] = &[
    "applicationVersion",
    "architecture",
    "blockType",
    "deviceType",
    "fileName",
    "market",
    "osRelease",
    "osVersion",
    "productName",
    "targetOs",
];
const DRIVER_F: &[&str] = &[
    "date",
    "submissionId",
    "failureName",
    "failureHash",
    "symbol",
    "osVersion",
    "osName",
    "eventType",
    "market",
    "deviceType",
    "driverName",
    "driverVersion",
    "oemName",
    "oemModel",
    "flightRing",
    "architecture",
];
const DRIVER_G: &[&str] = &[
    "submissionId",
    "failureName",
    "failureHash",
    "symbol",
    "osVersion",
    "eventType",
    "market",
    "deviceType",
    "driverName",
    "driverVersion",
    "oemName",
    "oemModel",
    "flightRing",
    "architecture",
];
const HW_G: &[&str] = &[
    "failureName",
    "failureHash",
    "symbol",
    "osVersion",
    "eventType",
    "market",
    "deviceType",
    "moduleName",
    "moduleVersion",
    "mode",
    "architecture",
    "model",
    "baseboard",
    "modelFamily",
    "flightRing",
];
const HW_O: &[&str] = &[
    "date",
    "failureName",
    "failureHash",
    "symbol",
    "osVersion",
    "eventType",
    "market",
    "deviceType",
    "moduleName",
    "moduleVersion",
    "mode",
    "architecture",
    "model",
    "baseboard",
    "modelFamily",
    "flightRing",
];
const CAB_HASH_FIELDS: &[&str] = &[
    "applicationId",
    "failureHash",
    "failureName",
    "date",
    "cabIdHash",
    "cabExpirationTime",
    "market",
    "osBuild",
    "applicationVersion",
    "deviceModel",
    "osVersion",
    "osRelease",
    "deviceType",
    "cabDownloadable",
    "fileName",
];
const FAILURE_HASH: Param = Param {
    name: "failureHash",
    column: "failureHash",
    required: true,
};
const CAB_ID: Param = Param {
    name: "cabId",
    column: "cabKey",
    required: true,
};
const CAB_ID_HASH: Param = Param {
    name: "cabIdHash",
    column: "cabKey",
    required: true,
};
const MULTI_F: &[&str] = &["deviceType", "packageVersion", "market", "subscriptionName"];
const MULTI_G: &[&str] = &[
    "date",
    "deviceType",
    "packageVersion",
    "market",
    "subscriptionName",
];

/// Every method of the contract.
pub static METHODS: &[Method] = &[
    // 2.1 Acquisitions, conversions, installs, usage
    Method {
        path: "appacquisitions",
        dataset: "store_acquisitions",
        fixed: &[("productType", "app")],
        filter: ACQ_F,
        order: ACQ_O,
        group: &[
            "date",
            "applicationName",
            "acquisitionType",
            "ageGroup",
            "storeClient",
            "gender",
            "market",
            "osVersion",
            "deviceType",
            "orderName",
        ],
        measures: ACQ_MONEY,
        freshness: true,
        ..BASE
    },
    Method {
        path: "funnel",
        dataset: "store_funnel",
        levels: &[],
        filter: &["campaignId", "market", "deviceType", "ageGroup", "gender"],
        always: &["metricType"],
        measures: &[("userCount", Combine::Peak)],
        rename: &[("MetricType", "metricType"), ("UserCount", "userCount")],
        shape: Shape::Funnel,
        ..BASE
    },
    Method {
        path: "appchannelconversions",
        dataset: "store_channel_conversions",
        fixed: &[("appType", "App")],
        start: Default::Fixed(2016, 1, 1),
        filter: CONV_F,
        order: &[
            "date",
            "applicationName",
            "appType",
            "customCampaignId",
            "referrerUriDomain",
            "channelType",
            "storeClient",
            "deviceType",
            "market",
        ],
        group: &[
            "date",
            "applicationName",
            "appType",
            "customCampaignId",
            "referrerUriDomain",
            "channelType",
            "storeClient",
            "deviceType",
            "market",
        ],
        measures: CONV_M,
        ..BASE
    },
    Method {
        path: "inappacquisitions",
        dataset: "store_acquisitions",
        scope: Scope::AppOrProduct,
        product: Some(Param {
            name: "inAppProductId",
            column: "productId",
            required: false,
        }),
        fixed: &[("productType", "addon")],
        filter: ACQ_F,
        order: ACQ_O,
        group: &[
            "date",
            "applicationName",
            "inAppProductName",
            "acquisitionType",
            "ageGroup",
            "storeClient",
            "gender",
            "market",
            "osVersion",
            "deviceType",
            "orderName",
        ],
        always: &["date", "applicationId", "inAppProductId"],
        measures: ACQ_MONEY,
        rename: &[
            ("inAppProductId", "productId"),
            ("inAppProductName", "productName"),
        ],
        ..BASE
    },
    Method {
        path: "subscriptions",
        dataset: "store_subscriptions",
        top_default: 100,
        top_max: 100,
        params: &[Param {
            name: "subscriptionProductId",
            column: "subscriptionProductId",
            required: false,
        }],
        filter: &[
            "date",
            "subscriptionProductName",
            "applicationName",
            "skuId",
            "market",
            "deviceType",
        ],
        order: &[
            "date",
            "subscriptionProductName",
            "applicationName",
            "skuId",
            "market",
            "deviceType",
        ],
        group: &[
            "date",
            "subscriptionProductName",
            "applicationName",
            "skuId",
            "market",
            "deviceType",
        ],
        always: &[
            "date",
            "applicationId",
            "subscriptionProductId",
            "currencyCode",
        ],
        measures: SUB_M,
        ..BASE
    },
    Method {
        path: "inappchannelconversions",
        dataset: "store_channel_conversions",
        fixed: &[("appType", "Add-On")],
        start: Default::Fixed(2016, 1, 1),
        params: &[Param {
            name: "inAppProductId",
            column: "inAppProductId",
            required: false,
        }],
        filter: CONV_F,
        order: &[
            "date",
            "applicationName",
            "inAppProductName",
            "appType",
            "customCampaignId",
            "referrerUriDomain",
            "channelType",
            "storeClient",
            "deviceType",
            "market",
        ],
        group: &[
            "date",
            "applicationName",
            "inAppProductName",
            "appType",
            "customCampaignId",
            "referrerUriDomain",
            "channelType",
            "storeClient",
            "deviceType",
            "market",
        ],
        always: &[
            "date",
            "applicationId",
            "inAppProductId",
            "inAppProductName",
        ],
        measures: CONV_M,
        ..BASE
    },
    Method {
        path: "acquisitions",
        dataset: "store_acquisitions",
        fixed: &[("productType", "app")],
        filter: XDP_F,
        order: XDP_G,
        group: XDP_G,
        measures: ACQ_MONEY,
        rename: &[("age", "ageGroup")],
        date_format: DateFormat::Iso7,
        ..BASE
    },
    Method {
        path: "addonacquisitions",
        dataset: "store_acquisitions",
        scope: Scope::AppOrProduct,
        product: Some(Param {
            name: "addonProductId",
            column: "productId",
            required: false,
        }),
        fixed: &[("productType", "addon")],
        filter: XDP_F,
        order: &[
            "date",
            "acquisitionType",
            "age",
            "storeClient",
            "gender",
            "market",
            "osVersion",
            "deviceType",
            "orderName",
        ],
        group: &[
            "date",
            "applicationName",
            "addonProductName",
            "acquisitionType",
            "age",
            "storeClient",
            "gender",
            "market",
            "osVersion",
            "deviceType",
            "paymentInstrumentType",
            "sandboxId",
            "xboxTitleId",
        ],
        always: &["date", "applicationId", "addonProductId"],
        measures: ACQ_MONEY,
        rename: &[
            ("age", "ageGroup"),
            ("addonProductId", "productId"),
            ("addonProductName", "productName"),
        ],
        date_format: DateFormat::Iso7,
        ..BASE
    },
    Method {
        path: "xbox/acquisitions",
        dataset: "store_acquisitions",
        fixed: &[("productType", "app")],
        filter: XDP_F,
        order: XDP_G,
        group: XDP_G,
        measures: ACQ_MONEY,
        rename: &[("age", "ageGroup"), ("xboxTitleIdHex", "xboxTitleId")],
        date_format: DateFormat::Iso7,
        ..BASE
    },
    Method {
        path: "xbox/addonacquisitions",
        dataset: "store_acquisitions",
        scope: Scope::AppOrProduct,
        product: Some(Param {
            name: "addonProductId",
            column: "productId",
            required: false,
        }),
        fixed: &[("productType", "addon")],
        filter: XDP_F,
        order: XDP_G,
        group: XDP_ADDON_G,
        always: &["date", "applicationId", "addonProductId"],
        measures: ACQ_MONEY,
        rename: &[
            ("age", "ageGroup"),
            ("addonProductId", "productId"),
            ("addonProductName", "productName"),
            ("xboxTitleIdHex", "xboxTitleId"),
        ],
        date_format: DateFormat::Iso7,
        ..BASE
    },
    Method {
        path: "installs",
        dataset: "store_installs",
        filter: &["market", "osVersion", "deviceType", "packageVersion"],
        order: &[
            "applicationName",
            "date",
            "market",
            "osVersion",
            "deviceType",
            "packageVersion",
            "successfulInstallCount",
        ],
        group: &[
            "applicationName",
            "date",
            "market",
            "osVersion",
            "deviceType",
            "packageVersion",
        ],
        measures: &[("successfulInstallCount", Combine::Sum)],
        ..BASE
    },
    Method {
        path: "usagedaily",
        dataset: "store_usage",
        stored: Stored::PerGrain,
        levels: &["day"],
        retention_days: Some(90),
        filter: &["market", "deviceType", "packageVersion"],
        order: &[
            "date",
            "applicationId",
            "applicationName",
            "market",
            "packageVersion",
            "deviceType",
            "subscriptionName",
            "dailySessionCount",
            "engagementDurationMinutes",
            "dailyActiveUsers",
            "dailyActiveDevices",
            "dailyNewUsers",
            "monthlyActiveUsers",
            "monthlyActiveDevices",
            "monthlyNewUsers",
            "dailyNewDevices",
            "monthlyNewDevices",
        ],
        group: USAGE_G,
        measures: USAGE_DAILY_M,
        ungrouped_all: true,
        ..BASE
    },
    Method {
        path: "usagemonthly",
        dataset: "store_usage",
        stored: Stored::PerGrain,
        levels: &["month"],
        retention_days: Some(90),
        filter: &["market", "deviceType", "packageVersion"],
        order: &[
            "date",
            "applicationId",
            "applicationName",
            "market",
            "packageVersion",
            "deviceType",
            "subscriptionName",
            "monthlySessionCount",
            "engagementDurationMinutes",
            "monthlyActiveUsers",
            "monthlyActiveDevices",
            "monthlyNewUsers",
            "monthlyNewDevices",
            "averageDailyActiveUsers",
            "averageDailyActiveDevices",
        ],
        group: USAGE_G,
        measures: USAGE_MONTHLY_M,
        ungrouped_all: true,
        ..BASE
    },
    // 2.2 App errors
    Method {
        path: "failurehits",
        dataset: "store_failure_hits",
        stored: Stored::PerGrain,
        levels: &["day", "hour", "week", "month"],
        retention_days: Some(30),
        filter: FAIL_F,
        order: FAIL_F,
        group: FAIL_G,
        always: &["date", "applicationId", "applicationName"],
        measures: FAIL_M,
        ..BASE
    },
    Method {
        path: "failuredetails",
        dataset: "store_failure_reports",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        retention_days: Some(30),
        params: &[FAILURE_HASH],
        filter: DETAILS_F,
        order: DETAILS_F,
        fields: DETAILS_FIELDS,
        rename: &[("cabId", "cabKey")],
        date_format: DateFormat::DayTime,
        ..BASE
    },
    Method {
        path: "stacktrace",
        dataset: "store_stack_frames",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        params: &[CAB_ID],
        fields: FRAMES,
        ..BASE
    },
    Method {
        path: "cabdownload",
        dataset: "store_failure_reports",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        params: &[CAB_ID],
        fields: &["cabKey"],
        shape: Shape::Redirect,
        ..BASE
    },
    Method {
        path: "insights",
        dataset: "store_insights",
        scope: Scope::AppOptional,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        retention_days: Some(30),
        filter: &["dataType"],
        fields: &[
            "applicationId",
            "insightDate",
            "dataType",
            "id",
            "insightDetail",
        ],
        date_format: DateFormat::IsoPlain,
        shape: Shape::Insights,
        ..BASE
    },
    // 2.3 Ratings and reviews
    Method {
        path: "ratings",
        dataset: "store_ratings",
        filter: &["market", "osVersion", "deviceType", "isRevised"],
        order: &["date", "osVersion", "market", "deviceType", "isRevised"],
        group: &[
            "date",
            "applicationName",
            "market",
            "osVersion",
            "deviceType",
            "isRevised",
        ],
        measures: &[
            ("fiveStars", Combine::Sum),
            ("fourStars", Combine::Sum),
            ("threeStars", Combine::Sum),
            ("twoStars", Combine::Sum),
            ("oneStar", Combine::Sum),
        ],
        ..BASE
    },
    Method {
        path: "reviews",
        dataset: "store_reviews",
        stored: Stored::Rows,
        levels: &[],
        filter: REVIEW_F,
        order: &[
            "date",
            "market",
            "osVersion",
            "deviceType",
            "isRevised",
            "packageVersion",
            "deviceModel",
            "productFamily",
            "deviceScreenResolution",
            "isTouchEnabled",
            "reviewerName",
            "helpfulCount",
            "notHelpfulCount",
            "responseDate",
            "deviceRAM",
            "deviceStorageCapacity",
            "rating",
            "reviewTitle",
            "reviewText",
            "responseText",
        ],
        fields: &[
            "date",
            "applicationId",
            "applicationName",
            "market",
            "osVersion",
            "deviceType",
            "isRevised",
            "packageVersion",
            "deviceModel",
            "productFamily",
            "deviceScreenResolution",
            "isTouchEnabled",
            "reviewerName",
            "helpfulCount",
            "notHelpfulCount",
            "responseDate",
            "id",
            "deviceRAM",
            "deviceStorageCapacity",
            "rating",
            "reviewTitle",
            "reviewText",
            "responseText",
        ],
        ..BASE
    },
    // 2.4 Ads
    Method {
        path: "adsperformance",
        dataset: "store_ad_performance",
        scope: Scope::AppOptional,
        start: Default::DaysAgo(30),
        end: Default::DaysAgo(1),
        filter: &[
            "market",
            "deviceType",
            "adUnitId",
            "pubCenterAppName",
            "adProvider",
            "date",
        ],
        order: &["date", "market", "deviceType", "adUnitId"],
        group: &[
            "applicationId",
            "applicationName",
            "date",
            "accountCurrencyCode",
            "market",
            "deviceType",
            "adUnitName",
            "adUnitId",
            "pubCenterAppName",
            "adProvider",
        ],
        always: &["date", "applicationId"],
        measures: &[
            ("adProviderRequests", Combine::Sum),
            ("impressions", Combine::Sum),
            ("clicks", Combine::Sum),
            ("requests", Combine::Sum),
            ("revenueInAccountCurrency", Combine::Sum),
        ],
        ..BASE
    },
    Method {
        path: "promotion",
        dataset: "store_ad_campaigns",
        scope: Scope::AppOptional,
        start: Default::DaysAgo(30),
        end: Default::DaysAgo(1),
        filter: &["campaignId"],
        order: &["date", "campaignId"],
        group: &["campaignId", "applicationId", "date", "currencyCode"],
        always: &["date", "applicationId"],
        measures: &[
            ("spend", Combine::Sum),
            ("impressions", Combine::Sum),
            ("installs", Combine::Sum),
            ("clicks", Combine::Sum),
            ("iapInstalls", Combine::Sum),
            ("activeUsers", Combine::Sum),
        ],
        ..BASE
    },
    // 2.5 Desktop applications
    Method {
        path: "desktop/installbasedaily",
        dataset: "store_desktop_install_base",
        levels: &[],
        start: Default::DaysAgo(90),
        filter: &[
            "applicationVersion",
            "deviceType",
            "market",
            "osVersion",
            "osRelease",
        ],
        order: &[
            "productName",
            "date",
            "applicationVersion",
            "deviceType",
            "market",
            "osVersion",
            "osRelease",
            "installBase",
        ],
        group: &[
            "applicationVersion",
            "deviceType",
            "market",
            "osVersion",
            "osRelease",
        ],
        always: &["applicationId", "date", "productName"],
        measures: &[("installBase", Combine::Peak)],
        ..BASE
    },
    Method {
        path: "desktop/blockhits",
        dataset: "store_desktop_blocks",
        levels: &[],
        start: Default::DaysAgo(90),
        filter: BLOCK_F,
        order: &[
            "applicationVersion",
            "architecture",
            "blockType",
            "deviceType",
            "fileName",
            "market",
            "osRelease",
            "osVersion",
            "productName",
            "targetOs",
            "date",
            "deviceCount",
        ],
        group: &[
            "applicationVersion",
            "architecture",
            "blockType",
            "deviceType",
            "fileName",
            "market",
            "osRelease",
            "osVersion",
            "targetOs",
        ],
        always: &["applicationId", "date", "productName"],
        measures: &[("deviceCount", Combine::Peak)],
        ..BASE
    },
    Method {
        path: "desktop/blockdetails",
        dataset: "store_desktop_blocks",
        levels: &[],
        start: Default::DaysAgo(90),
        params: &[Param {
            name: "fileName",
            column: "fileName",
            required: true,
        }],
        filter: &[
            "applicationVersion",
            "architecture",
            "blockType",
            "deviceType",
            "market",
            "osRelease",
            "osVersion",
            "productName",
            "targetOs",
        ],
        order: &[
            "applicationVersion",
            "architecture",
            "blockType",
            "deviceType",
            "market",
            "osRelease",
            "osVersion",
            "productName",
            "targetOs",
            "date",
            "deviceCount",
        ],
        group: &[
            "applicationVersion",
            "architecture",
            "blockType",
            "deviceType",
            "market",
            "osRelease",
            "osVersion",
            "targetOs",
        ],
        always: &["applicationId", "date", "productName", "fileName"],
        measures: &[("deviceCount", Combine::Peak)],
        ..BASE
    },
    Method {
        path: "desktop/failurehits",
        dataset: "store_failure_hits",
        stored: Stored::PerGrain,
        retention_days: Some(30),
        filter: DESKTOP_FAIL_F,
        order: DESKTOP_FAIL_F,
        group: &[
            "failureName",
            "failureHash",
            "symbol",
            "osVersion",
            "eventType",
            "market",
            "deviceType",
        ],
        always: &["date", "applicationId", "applicationName"],
        measures: &[("eventCount", Combine::Sum)],
        ..BASE
    },
    Method {
        path: "desktop/failuredetails",
        dataset: "store_failure_reports",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        retention_days: Some(30),
        params: &[FAILURE_HASH],
        filter: &[
            "market",
            "date",
            "cabIdHash",
            "cabExpirationTime",
            "deviceType",
            "deviceModel",
            "osVersion",
            "osRelease",
            "applicationVersion",
            "osBuild",
            "fileName",
        ],
        order: &[
            "market",
            "date",
            "cabIdHash",
            "cabExpirationTime",
            "deviceType",
            "deviceModel",
            "osVersion",
            "osRelease",
            "applicationVersion",
            "osBuild",
            "fileName",
        ],
        fields: CAB_HASH_FIELDS,
        rename: &[("cabIdHash", "cabKey")],
        date_format: DateFormat::DayTime,
        ..BASE
    },
    Method {
        path: "desktop/stacktrace",
        dataset: "store_stack_frames",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        params: &[CAB_ID_HASH],
        fields: FRAMES,
        ..BASE
    },
    Method {
        path: "desktop/cabdownload",
        dataset: "store_failure_reports",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        params: &[CAB_ID_HASH],
        fields: &["cabKey"],
        shape: Shape::Redirect,
        ..BASE
    },
    Method {
        path: "desktop/insights",
        dataset: "store_insights",
        scope: Scope::AppOptional,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        retention_days: Some(30),
        fixed: &[("dataType", "health")],
        filter: &["dataType"],
        fields: &[
            "applicationId",
            "insightDate",
            "dataType",
            "id",
            "insightDetail",
        ],
        rename: &[("insightId", "id")],
        date_format: DateFormat::IsoPlain,
        shape: Shape::Insights,
        ..BASE
    },
    // 2.6 Xbox One game errors
    Method {
        path: "xbox/failurehits",
        dataset: "store_failure_hits",
        stored: Stored::PerGrain,
        levels: &["day", "hour", "week", "month"],
        retention_days: Some(30),
        filter: FAIL_F,
        order: FAIL_F,
        group: FAIL_G,
        always: &["date", "applicationId", "applicationName"],
        measures: FAIL_M,
        ..BASE
    },
    Method {
        path: "xbox/failuredetails",
        dataset: "store_failure_reports",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        retention_days: Some(30),
        params: &[FAILURE_HASH],
        filter: DETAILS_F,
        order: DETAILS_F,
        fields: DETAILS_FIELDS,
        rename: &[("cabId", "cabKey")],
        date_format: DateFormat::DayTime,
        ..BASE
    },
    Method {
        path: "xbox/stacktrace",
        dataset: "store_stack_frames",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        params: &[CAB_ID],
        fields: FRAMES,
        ..BASE
    },
    Method {
        path: "xbox/cabdownload",
        dataset: "store_failure_reports",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        params: &[CAB_ID],
        fields: &["cabKey"],
        shape: Shape::Redirect,
        ..BASE
    },
    // 2.7 Xbox Live analytics
    Method {
        path: "gameanalytics",
        metric_type: "productvalues",
        dataset: "store_xbox_documents",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        fixed: &[("metricType", "productvalues")],
        fields: &["document"],
        shape: Shape::Document,
        ..BASE
    },
    Method {
        path: "gameanalytics",
        metric_type: "achievements",
        dataset: "store_xbox_achievements",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        fields: &[
            "applicationId",
            "reportDateTime",
            "achievementId",
            "achievementName",
            "gamerscore",
            "dailyUnlocks",
            "monthlyUnlocks",
            "totalUnlocks",
        ],
        rename: &[("reportDateTime", "date")],
        date_format: DateFormat::IsoPlain,
        ..BASE
    },
    Method {
        path: "gameanalytics",
        metric_type: "concurrency",
        dataset: "store_xbox_concurrency",
        stored: Stored::Rows,
        levels: &["day", "minute", "hour"],
        fields: &["date", "minute", "count"],
        shape: Shape::BareArray,
        ..BASE
    },
    Method {
        path: "gameanalytics",
        metric_type: "callingpattern",
        dataset: "store_xbox_documents",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        fixed: &[("metricType", "callingpattern")],
        filter: &["deviceType", "packageVersion", "sandboxId"],
        fields: &["document"],
        shape: Shape::Document,
        ..BASE
    },
    Method {
        path: "gameanalytics",
        metric_type: "communitymanagergamehub",
        dataset: "store_xbox_gamehub",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        end: Default::Today,
        fields: &[
            "date",
            "applicationId",
            "gameHubLikeCount",
            "gameHubCommentCount",
            "gameHubShareCount",
            "gameHubFollowerCount",
        ],
        ..BASE
    },
    Method {
        path: "gameanalytics",
        metric_type: "communitymanagerclub",
        dataset: "store_xbox_documents",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        fixed: &[("metricType", "communitymanagerclub")],
        order: &["date"],
        fields: &["document"],
        shape: Shape::Document,
        ..BASE
    },
    Method {
        path: "gameanalytics",
        metric_type: "multiplayerdaily",
        dataset: "store_usage",
        stored: Stored::PerGrain,
        levels: &["day"],
        start: Default::MonthsAgo(3),
        filter: MULTI_F,
        order: MULTI_G,
        group: MULTI_G,
        always: &["date", "applicationId"],
        measures: &[
            ("dailySessionCount", Combine::Sum),
            ("engagementDurationMinutes", Combine::Sum),
            ("dailyActiveUsers", Combine::Peak),
            ("dailyActiveDevices", Combine::Peak),
            ("dailyNewUsers", Combine::Sum),
            ("monthlyActiveUsers", Combine::Peak),
            ("monthlyActiveDevices", Combine::Peak),
            ("monthlyNewUsers", Combine::Peak),
        ],
        ungrouped_all: true,
        ..BASE
    },
    Method {
        path: "gameanalytics",
        metric_type: "multiplayermonthly",
        dataset: "store_usage",
        stored: Stored::PerGrain,
        levels: &["month"],
        start: Default::MonthsAgo(12),
        filter: MULTI_F,
        order: MULTI_G,
        group: MULTI_G,
        always: &["date", "applicationId"],
        measures: &[
            ("monthlySessionCount", Combine::Sum),
            ("engagementDurationMinutes", Combine::Sum),
            ("monthlyActiveUsers", Combine::Peak),
            ("monthlyActiveDevices", Combine::Peak),
            ("monthlyNewUsers", Combine::Sum),
            ("averageDailyActiveUsers", Combine::Peak),
            ("averageDailyActiveDevices", Combine::Peak),
        ],
        ungrouped_all: true,
        ..BASE
    },
    // 2.8 Hardware / drivers
    Method {
        path: "driver/failurehits",
        dataset: "store_failure_hits",
        stored: Stored::PerGrain,
        filter: DRIVER_F,
        order: DRIVER_F,
        group: DRIVER_G,
        always: &["date", "applicationId"],
        measures: FAIL_M,
        ..BASE
    },
    Method {
        path: "driver/failuredetails",
        dataset: "store_failure_reports",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        params: &[FAILURE_HASH],
        filter: &[
            "market",
            "date",
            "cabIdHash",
            "clientDeviceId",
            "cabType",
            "cabExpirationTime",
            "deviceType",
            "osVersion",
        ],
        order: &[
            "market",
            "date",
            "cabIdHash",
            "cabExpirationTime",
            "deviceType",
        ],
        fields: &[
            "applicationId",
            "failureHash",
            "failureName",
            "date",
            "cabIdHash",
            "cabType",
            "cabExpirationTime",
            "clientDeviceId",
            "market",
            "osBuild",
            "osVersion",
            "deviceType",
            "cabDownloadable",
        ],
        rename: &[("cabIdHash", "cabKey")],
        date_format: DateFormat::DayTime,
        ..BASE
    },
    Method {
        path: "driver/cabdownload",
        dataset: "store_failure_reports",
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        params: &[CAB_ID_HASH],
        fields: &["cabKey"],
        shape: Shape::Redirect,
        ..BASE
    },
    Method {
        path: "ihvdriver/failurehits",
        dataset: "store_failure_hits",
        scope: Scope::Account,
        stored: Stored::PerGrain,
        fixed: &[("productName", "ihvdriver")],
        filter: DRIVER_F,
        order: DRIVER_F,
        group: DRIVER_G,
        always: &["date", "sellerId"],
        measures: &[("eventCount", Combine::Sum)],
        ..BASE
    },
    Method {
        path: "ihvdriver/failuredetails",
        dataset: "store_failure_reports",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        fixed: &[("fileName", "ihvdriver")],
        params: &[FAILURE_HASH],
        filter: &["market", "date", "cabIdHash", "cabType", "deviceType"],
        order: &["market", "date", "cabIdHash", "deviceType"],
        fields: &[
            "sellerId",
            "failureHash",
            "failureName",
            "date",
            "cabIdHash",
            "cabType",
            "cabExpirationTime",
            "market",
            "osBuild",
            "osVersion",
            "deviceType",
            "cabDownloadable",
        ],
        rename: &[("cabIdHash", "cabKey")],
        date_format: DateFormat::DayTime,
        ..BASE
    },
    Method {
        path: "ihvdriver/cabdownload",
        dataset: "store_failure_reports",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        params: &[CAB_ID_HASH],
        fields: &["cabKey"],
        shape: Shape::Redirect,
        ..BASE
    },
    Method {
        path: "hardware/failurehits",
        dataset: "store_failure_hits",
        scope: Scope::Account,
        stored: Stored::PerGrain,
        fixed: &[("productName", "hardware")],
        filter: HW_O,
        order: HW_O,
        group: HW_G,
        always: &["date", "sellerId"],
        measures: &[("eventCount", Combine::Sum)],
        ..BASE
    },
    Method {
        path: "hardware/failuredetails",
        dataset: "store_failure_reports",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        fixed: &[("fileName", "hardware")],
        params: &[FAILURE_HASH],
        filter: &[
            "market",
            "date",
            "cabIdHash",
            "cabType",
            "deviceType",
            "osBuild",
            "packageVersion",
        ],
        order: &[
            "market",
            "date",
            "cabIdHash",
            "deviceType",
            "osBuild",
            "packageVersion",
        ],
        fields: &[
            "sellerId",
            "failureHash",
            "failureName",
            "date",
            "cabIdHash",
            "cabType",
            "cabExpirationTime",
            "market",
            "osBuild",
            "osVersion",
            "deviceType",
            "cabDownloadable",
        ],
        rename: &[("cabIdHash", "cabKey")],
        date_format: DateFormat::DayTime,
        ..BASE
    },
    Method {
        path: "hardware/cabdownload",
        dataset: "store_failure_reports",
        scope: Scope::Account,
        stored: Stored::Rows,
        levels: &[],
        start: Default::DaysAgo(30),
        params: &[CAB_ID_HASH],
        fields: &["cabKey"],
        shape: Shape::Redirect,
        ..BASE
    },
];

/// The method at `path` (lower case, below `/v1.0/my/analytics/`), with
/// `metricType` for `gameanalytics`.
pub fn find(path: &str, metric_type: Option<&str>) -> Option<&'static Method> {
    METHODS.iter().find(|m| {
        m.path.eq_ignore_ascii_case(path)
            && (m.metric_type.is_empty()
                || metric_type.is_some_and(|t| t.eq_ignore_ascii_case(m.metric_type)))
    })
}
