/** Package version, shown in the banner, the OpenAPI document and `/api/v1/health`. */
export const VERSION = "0.1.0";
