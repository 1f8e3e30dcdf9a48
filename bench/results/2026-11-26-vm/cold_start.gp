set terminal pngcairo size 900,560 font ',10'
set output 'cold_start.png'
set grid
set key top left
set title 'Cold start: invoke of a never-seen action -> result'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8
set ylabel 'ms (p50)'
set yrange [0:*]
plot 'cold_start.dat' u 2:xtic(1) t 'no prewarm', '' u 3 t 'prewarm (stem cell)', '' u 4 t 'docker create+start (baseline)'
