# redraws scenario-timeline.svg and .pdf, .csv and .vl.json from the run's CSVs; run it from the repository root
npm run hil -- report results/reference/demo-all-variants-qemu-mps2-an386 --out results/reference/demo-all-variants-qemu-mps2-an386/report --figure scenario-timeline
