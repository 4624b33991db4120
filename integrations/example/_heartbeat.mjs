// The example's background process: one line a second until stopped.
let n = 0;
setInterval(() => console.log(`heartbeat ${++n}`), 1000);
process.on("SIGTERM", () => process.exit(0));
