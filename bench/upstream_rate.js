// The real randomuser.me 1.4 generator's rate, to compare with bench_api.py (same sizes: 10 x 5,000 users).
// Setup (outside this repo): git clone https://github.com/RandomAPI/Randomuser.me-Node U && cd U &&
//   git checkout v1.4 && npm install --no-save mersenne@0.0.3 faker@4.1.0 transliteration@2.2.0 dayjs \
//   yamljs@0.2.10 js2xmlparser@1.0.0 json-2-csv@3.17.1
// Run: node bench/upstream_rate.js U
const path = require('path');
const {Generator} = require(path.resolve(process.argv[2] || '.', 'api/1.4/api.js'));

(async () => {
  const generator = new Generator();
  await generator.init();
  await generator.generate({results: '10', seed: 'warm-up'});
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let page = 1; page <= 10; page++) {
    await generator.generate({results: '5000', seed: 'bench', page: String(page)});
  }
  const seconds = Number(process.hrtime.bigint() - wall) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  console.log(`randomuser 1.4 generator (in-process, results=5000, json): ${Math.round(50000 / cpuSeconds)} ` +
              `users per CPU second, ${Math.round(50000 / seconds)} users/s wall clock`);
})();
