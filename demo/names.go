package demo

import (
	"math/rand/v2"
	"strings"
)

// Surnames weighted roughly as they are common in Hunan: the first ones
// repeat so that they are drawn more often.
var surnames = []rune("李王张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文" +
	"李王张刘陈唐蒋周邓李刘陈唐蒋黄杨周邓胡欧")

var givenChars = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文辉玲林斌波海燕鹏飞宇浩然思雨欣怡子轩梓涵一诺佳琪晨阳俊杰")

// personName returns a two- or three-character Chinese name.
func personName(r *rand.Rand) string {
	var b strings.Builder
	b.WriteRune(surnames[r.IntN(len(surnames))])
	b.WriteRune(givenChars[r.IntN(len(givenChars))])
	if r.IntN(10) < 7 {
		b.WriteRune(givenChars[r.IntN(len(givenChars))])
	}
	return b.String()
}

// Syllables of place names: villages are named for families, hills, streams
// and ponds; urban communities for roads, parks and aspirations.
var (
	villageFirst  = []rune("石枫竹杨李黄塘桥茶松柏桐梅桃杉樟油龙凤马牛鹅鹿白青金银新老上下东西南北大小长高中洞田冲岭湾坪源口铺溪江河山")
	villageSecond = []rune("山冲岭塘湾坪源口铺洞桥田溪江家湖岗坳垅井亭圩市寨湘潭")
	urbanWords    = []string{"和平", "建设", "滨江", "潇湘", "南津", "文化", "人民", "解放", "东风", "胜利", "光明", "幸福",
		"育才", "新华", "红星", "朝阳", "凤凰", "梅园", "桐子", "翠竹", "柳岸", "愚溪", "芝山", "萍洲", "珠山", "河西",
		"河东", "花园", "站前", "书院", "望城", "永安", "兴隆", "嘉园", "锦绣", "金水", "银湖", "青桥", "古城", "学苑",
		"工业", "银杏", "荷塘", "湘江", "零陵", "紫荆", "玉兰", "桂花", "香樟", "枫林", "长丰", "双井", "太白", "东门",
		"西门", "南门", "北门", "十字", "渔湾", "新村", "月岩", "舜德", "九嶷", "濂溪"}
)

// nameSet hands out names that are unique within it.
type nameSet map[string]bool

// village returns a new village name such as 石冲村.
func (s nameSet) village(r *rand.Rand) string {
	for i := 0; ; i++ {
		n := string(villageFirst[r.IntN(len(villageFirst))]) + string(villageSecond[r.IntN(len(villageSecond))])
		if i > 50 {
			n += string(villageSecond[r.IntN(len(villageSecond))])
		}
		if !s[n] {
			s[n] = true
			return n + "村"
		}
	}
}

// urban returns a new urban community name such as 滨江社区.
func (s nameSet) urban(r *rand.Rand) string {
	for i := 0; ; i++ {
		n := urbanWords[r.IntN(len(urbanWords))]
		if i > 30 {
			n += string(villageSecond[r.IntN(len(villageSecond))])
		}
		if !s[n] {
			s[n] = true
			return n + "社区"
		}
	}
}

// phone returns a Chinese mobile number.
func phone(r *rand.Rand) string {
	prefixes := []string{"130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157", "158", "159", "173", "177", "180", "181", "182", "186", "187", "188", "189", "199"}
	b := []byte(prefixes[r.IntN(len(prefixes))])
	for range 8 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return string(b)
}

// shortName drops the 街道/镇/乡 suffix of a township name, so that 梅湾街道
// gives 梅湾派出所.
func shortName(township string) string {
	for _, suf := range []string{"街道", "镇", "乡", "场"} {
		if s, ok := strings.CutSuffix(township, suf); ok && s != "" {
			return s
		}
	}
	return township
}
