set terminal pngcairo size 900,560 font ',10'
set output 'c_transfer.png'
set grid
set key top left
set title 'C: data transfer between 2 steps of a sequence (comTime; 0 B at 1 B, 0 ms at 0.5 ms)'
set xlabel 'payload bytes'
set ylabel 'ms'
set logscale x
set logscale y
f(v) = v < 0.5 ? 0.5 : v
plot 'c_transfer.dat' u 1:(f($2)):(f($3)):(f($4)) w yerrorlines lw 2 t 'edgewhisk median (min..max)', 'c_transfer.dat' u 1:(f($5)):(f($6)):(f($7)) w yerrorlines t 'direct chain median (min..max)', 'c_pi.dat' u 1:2 w lp pt 7 dt 2 t 'reported, Raspberry Pi 4'
