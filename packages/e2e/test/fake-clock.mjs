// Test preload: shifts this process's wall clock by FAKE_CLOCK_OFFSET_S seconds, as an operator
// setting the system clock would. Used only by the end-to-end tests (node --import).
const offset = Number(process.env.FAKE_CLOCK_OFFSET_S ?? 0) * 1000;
const realNow = Date.now;
Date.now = () => realNow() + offset;
