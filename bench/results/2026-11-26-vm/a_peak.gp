set terminal pngcairo size 900,560 font ',10'
set output 'a_peak.png'
set grid
set key top left
set title 'A: peak throughput over client concurrency vs backends N'
set xlabel 'backend concurrency N (max concurrent action containers)'
set ylabel 'req/s'
set yrange [0:*]
set xrange [0:12]
set xtics 1
plot 'a_peak.dat' u 1:2 w lp lw 2 t 'edgewhisk', 'a_peak.dat' u 1:3 w lp t 'direct (same run)', 'a_peak.dat' u 1:4 w l dt 2 t 'N x 33.3 req/s', 'a_peak.dat' u 1:($4*0.9) w l dt 3 t 'target 0.9 x N x 33.3', 'a_pi.dat' u 1:2 w p pt 7 ps 1.5 t 'reported, Raspberry Pi 4'
