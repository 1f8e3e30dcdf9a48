set terminal pngcairo size 900,560 font ',10'
set output 'b_payload.png'
set grid
set key top left
set title 'B: latency vs message size, N=1, c=1 (0 B plotted at 1 B)'
set xlabel 'message bytes'
set ylabel 'ms'
set logscale xy
plot 'b_payload.dat' u 1:2 w lp lw 2 t 'edgewhisk p50', 'b_payload.dat' u 1:4 w lp dt 2 t 'edgewhisk p99', 'b_payload.dat' u 1:3 w lp t 'direct p50', 'b_pi.dat' u 1:2 w p pt 7 ps 1.5 t 'reported, Raspberry Pi 4 (~1.4 s)'
