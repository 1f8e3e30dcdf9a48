// SPDX-License-Identifier: Apache-2.0
// Experiment A/B action: waits `timeout` ms with a timer, returns {timeout}.
function main(params) {
	const ms = parseInt(params.timeout, 10) || 0;
	return new Promise((resolve) => setTimeout(() => resolve({ timeout: params.timeout }), ms));
}
