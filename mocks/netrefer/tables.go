package netrefer

import "strings"

// methodNames is the seed's deposit/withdrawal method table: the id of a
// method is its index. The spellings ("NETTELLER", "PAYAL FEE") are NetRefer's.
var methodNames = [...]string{
	"UN", "CHEQUE", "CLICK BUY", "CREDEB", "CREDEB MARKETING", "CREDEB POKER", "ENVOY", "Skrill",
	"NETTELLER", "PAYPAL", "PAYAL FEE", "TRANSFER", "UNKNOWN", "WEB MONEY", "Bank Transfer", "Ukash",
	"InstaDebit", "Debit/Credit Card", "Voucher", "Tigo Pesa", "Vodacom M-Pesa", "PaySafeCard",
	"Rapid Transfer", "Postepay", "Trustly", "Revolut", "ClickandBuy", "ecoPayz", "Entropay",
	"Yandexmoney", "Moneta", "Sofort", "CryptoCurrencies", "MUCHBETTER", "eZeeWallet", "AstroPay",
	"Apple Pay", "Google Pay", "NetBanking", "Paytm", "PhonePe", "UPI", "Boku", "Multibanco", "Giropay",
	"Qiwi Wallet", "SafeCharge", "HiPay", "CartaSi", "Interac", "Euteller", "MB WAY", "Zimpler",
	"PugglePay", "Klarna", "Neosurf", "POLi", "Ozow", "SiD", "Peach Payments", "OTT Voucher", "zapper",
	"1ForYou", "airtel", "HalCash", "P24", "Halopesa", "EzyPesa", "Selcom Paypoint", "iDEAL", "Mifinity",
	"Siru Mobile", "Bizum", "INOVAPAY", "Pay4Fun", "CashtoCode", "Banco Posta", "Flexepin", "WeChat Pay",
	"Alipay", "Jeton", "Dash", "Bambora", "Other",
}

// methodOther is the id unknown method names map to.
const methodOther = len(methodNames) - 1

var methodByName = func() map[string]int {
	m := make(map[string]int, len(methodNames))
	for i, n := range methodNames {
		m[strings.ToLower(n)] = i
	}
	return m
}()

// lookupMethod maps a method name (case-insensitive) to its id; unknown
// names are "Other", as NetRefer documents.
func lookupMethod(name string) (id int, known bool) {
	if id, ok := methodByName[strings.ToLower(strings.TrimSpace(name))]; ok {
		return id, true
	}
	return methodOther, false
}

// ISO 4217 active alphabetic codes.
const currencyCodes = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD " +
	"CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP " +
	"GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR " +
	"LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP " +
	"PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP " +
	"TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XCD XCG XDR XOF XPD XPF XPT XSU XUA " +
	"YER ZAR ZMW ZWG ZWL"

// ISO 3166-1 alpha-2 officially assigned codes.
const countryCodes = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW " +
	"BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO " +
	"FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO " +
	"JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS " +
	"MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU " +
	"RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA " +
	"UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

func codeSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(s) {
		m[c] = true
	}
	return m
}

var (
	currencies = codeSet(currencyCodes)
	countries  = codeSet(countryCodes)
)

// customerStatuses are the values a customer update may set [sandbox].
var customerStatuses = map[string]bool{"Active": true, "Inactive": true, "Closed": true, "SelfExcluded": true, "Blocked": true}

// adjustmentTypes are the two kinds of complete reversal.
var adjustmentTypes = map[string]bool{"BetVoid": true, "Chargeback": true}
