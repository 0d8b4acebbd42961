# redraws current-trace-switching-int8.svg and .pdf, .csv and .vl.json from the run's CSVs; run it from the repository root
npm run hil -- report results/reference/board-trace-ppk2-sim --out results/reference/board-trace-ppk2-sim/report --figure current-trace-switching-int8
